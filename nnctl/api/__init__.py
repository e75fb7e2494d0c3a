"""The Python API (``import nnctl``): ``train`` (``training``), ``load_run`` and ``Run``
(``run``), ``list_runs`` (``listing``); arrays as data (``arrays``), configs with keyword
overrides (``configs``), one training under the signal handlers (``session``), predictions and
scores of a run (``scoring``), a run in a notebook (``display``) and rich's bar (``progress``).
Each calls the commands' libraries the CLI calls, so both behave the same."""

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
        "listing": ["list_runs"],
        "run": ["Run", "load_run"],
        "session": ["TrainProgress"],
        "training": ["train"],
    },
)
