"""The Python API (``import nnctl``): ``train`` (``training``), ``load_run`` and ``Run``
(``run``), ``list_runs`` (``listing``); arrays as data (``arrays``), configs with keyword
overrides (``configs``), one training under the signal handlers (``session``), predictions and
scores of a run (``scoring``), a run in a notebook (``display``) and rich's bar (``progress``).
The CLI is a shell over these: ``nnctl train``, ``predict``, ``evaluate``, ``report``,
``export`` and ``runs list`` parse their arguments, call this package and present what it
returns (docs/design.md maps each command to its function), so both behave the same by
construction. Beyond ``nnctl.__all__``, the CLI uses ``TrainDisplay`` (its bar is one),
``select_runs`` (the runs ``list_runs`` lists, before they become rows), ``write_report`` (a
page about several runs), ``resolve_config(..., sets=)`` (its --set texts) and the functions of
``scoring`` (predict's per-input failures, evaluate's tuned threshold and misclassified
images)."""

import lazy_loader as lazy

# Public names, imported from their module on first use: `import nnctl` stays free of numpy.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "arrays": ["DATA_FOLDER"],
        "configs": ["resolve_config"],
        "errors": [
            "DataTypeError",
            "DataValueError",
            "NnctlWarning",
            "TrainingDiverged",
            "TrainingInterrupted",
        ],
        "listing": ["RunSelection", "list_runs", "select_runs"],
        "run": ["Run", "load_run", "write_report"],
        "session": ["TrainDisplay", "TrainProgress"],
        "training": ["train"],
    },
)
