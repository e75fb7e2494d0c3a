"""An estimator's constructor parameters as a config: ``config_dict`` gives the mapping a YAML
file would hold (the same keys), ``resolve_config`` validates it through ``nnctl.config`` (the
same checks and one-line messages as a config file, raised as ValueError as scikit-learn's
contract asks), and ``params_from_config`` goes back from a run's config to parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.config import Config, resolve
from nnctl.system import ConfigError

DATA_FILE = "data.npz"
"""The one data file of an estimator's config: arrays x (m, n_x), y (m,) or (m, n_out), and for
a classifier classes (the labels' names). ``save_run`` writes it into the run directory."""

OPTIMIZER_KEYS = ("beta", "beta1", "beta2", "epsilon")
"""The optimizers' hyperparameters (``nnctl.core.OPTIMIZERS``), each a constructor parameter;
None leaves the key out, so the chosen optimizer's default applies as in a config file."""


def seed_of(random_state: Any) -> int:
    """``random_state`` -> the config's ``seed``: an int as given; a RandomState or Generator
    draws one; None is the config's default seed 1, so that an unseeded fit is reproducible."""
    if random_state is None:
        return 1
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    raise ValueError(
        f"random_state: expected None, an int, a numpy RandomState or Generator, "
        f"got {type(random_state).__name__}"
    )


def _early_stopping(value: Any) -> Any:
    """True -> {patience: 10} (scikit-learn's n_iter_no_change); False/None -> none; a mapping
    is the config's own {patience, min_delta}."""
    if value is True:
        return {"patience": 10}
    if value is False or value is None:
        return None
    return value


def _listed(value: Any) -> Any:
    """Tuples (scikit-learn's habit for sizes) as the lists YAML has; other values as given."""
    return list(value) if isinstance(value, tuple) else value


def config_dict(p: dict[str, Any], n_out: int, output: str, name: str) -> dict[str, Any]:
    """The config mapping of an estimator's parameters ``p`` (``get_params()``), for a network
    with ``n_out`` output units and the ``output`` activation its task needs."""
    hidden = _listed(p["hidden_layer_sizes"])
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = [int(hidden)]
    if not isinstance(hidden, list):
        raise ValueError(
            f"hidden_layer_sizes: expected a tuple of layer sizes like (100,) or (20, 7), "
            f"got {type(hidden).__name__}"
        )
    activation = _listed(p["activation"])
    if isinstance(activation, list):
        activations: Any = [*activation, output]
    else:
        activations = {"hidden": activation, "output": output} if hidden else {"output": output}
    raw: dict[str, Any] = {
        "name": name,
        "dataset": {"train": DATA_FILE},
        "layer_dims": ["auto", *hidden, n_out],
        "activations": activations,
        "learning_rate": p["learning_rate"],
        "init": p["init"],
        "seed": seed_of(p["random_state"]),
        "dtype": p["dtype"],
        "batch_size": p["batch_size"],
        "optimizer": p["optimizer"],
        "lr_decay": _listed(p["lr_decay"]),
        "l2": p["l2"],
        "dropout": _listed(p["dropout"]),
        "validation_fraction": p["validation_fraction"],
        "early_stopping": _early_stopping(p["early_stopping"]),
        "normalize": p["normalize"],
    }
    if p["iterations"] is not None:
        raw["iterations"] = p["iterations"]
    if p["epochs"] is not None:
        raw["epochs"] = p["epochs"]
    raw.update({k: p[k] for k in OPTIMIZER_KEYS if p[k] is not None})
    return raw


def resolve_config(raw: dict[str, Any], source: str) -> Config:
    """``raw`` validated as a config file's mapping is; a ConfigError becomes a ValueError with
    its message (scikit-learn's estimators refuse bad parameters with ValueError)."""
    try:
        return resolve(raw, source, default_name=source)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc


def params_from_config(cfg: Config) -> dict[str, Any]:
    """A run's config -> the constructor parameters that give it back (``from_run``)."""
    hidden = cfg.activations[:-1]
    activation: Any = hidden[0] if hidden and len(set(hidden)) == 1 else list(hidden)
    early = cfg.early_stopping
    return {
        "hidden_layer_sizes": tuple(int(n) for n in cfg.layer_dims[1:-1]),
        "activation": activation if hidden else "relu",
        "optimizer": cfg.optimizer,
        **{k: cfg.hyperparameters.get(k) for k in OPTIMIZER_KEYS},
        "learning_rate": cfg.learning_rate,
        "batch_size": cfg.batch_size,
        "epochs": cfg.epochs,
        "iterations": cfg.iterations,
        "lr_decay": None if cfg.lr_decay is None else dict(cfg.lr_decay),
        "l2": cfg.l2,
        "dropout": None if cfg.dropout is None else list(cfg.dropout),
        "early_stopping": None if early is None else dict(early),
        "validation_fraction": cfg.validation_fraction,
        "normalize": cfg.normalize,
        "init": cfg.init,
        "dtype": cfg.dtype,
        "random_state": cfg.seed,
    }
