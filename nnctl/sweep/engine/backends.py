"""The two libraries a sweep runs on, Dask distributed (the execution) and Optuna (the search):
optional (``nnctl[sweep]``), so they are imported only when a sweep is run."""

from __future__ import annotations

from typing import Any

from nnctl.system import UsageError

INSTALL_HINT = "pip install 'nnctl[sweep]'  (or: pip install 'dask[distributed]' optuna)"


def import_backends() -> tuple[Any, Any]:
    """The modules ``distributed`` and ``optuna``. Raises UsageError, saying how to install
    them, when either is missing: ``nnctl sweep run`` calls it before it writes anything."""
    try:
        import distributed
        import optuna
    except ImportError:
        raise UsageError(
            f"nnctl sweep needs Dask distributed and Optuna, which are not installed; "
            f"install them with: {INSTALL_HINT}"
        ) from None
    return distributed, optuna


DISTRIBUTED_HINT = "pip install 'nnctl[sweep]'  (or: pip install 'dask[distributed]')"


def import_distributed(what: str) -> Any:
    """The module ``distributed`` alone (``nnctl cv`` and learning curves on Dask need no
    Optuna). Raises UsageError naming ``what`` (e.g. ``--workers``) and the extra when it is
    missing: called before anything is written."""
    try:
        import distributed
    except ImportError:
        raise UsageError(
            f"{what} runs on Dask distributed, which is not installed; install it with: "
            f"{DISTRIBUTED_HINT}"
        ) from None
    return distributed
