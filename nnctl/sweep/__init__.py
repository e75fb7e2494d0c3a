"""``nnctl sweep``: hyperparameter sweeps whose trials are ordinary runs.

``spec`` reads and checks sweep files and builds each trial"s config; ``trial`` trains one
trial on a worker and writes it as a run on the client; ``store`` owns the sweep directory
(``checked``: its JSON files read defensively, a damaged one refused in one line);
``engine`` drives Optuna (the search) and Dask distributed (the execution), and is the only
subpackage that imports them.
"""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["engine"],
    submod_attrs={
        "engine": ["check_sweep", "import_backends", "run_sweep", "start_sweep"],
        "spec": ["check_values", "load_sweep"],
        "store": [
            "SweepRecord",
            "TrialRow",
            "discard_if_unstarted",
            "find_sweep",
            "read_record",
            "test_scores",
        ],
        "trial": ["prune_rule"],
    },
)
