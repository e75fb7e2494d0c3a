"""nnctl: train fully connected L-layer neural networks in plain numpy, driven by YAML configs.

From Python: ``nnctl.train(config, **overrides)`` -> ``Run``, ``nnctl.load_run(id)``,
``nnctl.list_runs(filter=..., sort=...)`` (docs/guides/python.md). The names are imported on
first use, so ``import nnctl`` (and ``nnctl --help``) loads no numpy."""

import lazy_loader as _lazy

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "api": [
            "DataTypeError",
            "DataValueError",
            "NnctlWarning",
            "Run",
            "TrainProgress",
            "TrainingDiverged",
            "TrainingInterrupted",
            "list_runs",
            "load_run",
            "train",
        ],
        "system": [
            "ConfigError",
            "DataError",
            "NnctlError",
            "OptionError",
            "RunError",
            "RunFailed",
            "UsageError",
        ],
    },
)
