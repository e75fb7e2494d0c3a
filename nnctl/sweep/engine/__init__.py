"""Running a sweep: Optuna chooses each trial's values, Dask distributed trains the trials,
the client writes every trial as an ordinary run.

The client reads each distinct dataset once and scatters it to the workers; a worker trains
with nnctl's library in-process (``trial.run_trial``) and sends the run's contents back; the
client writes the run directory through the runs package's atomic writers as each trial
finishes, so it holds no trial's parameters for longer than that. A worker that dies mid-trial
costs that trial only: it is sent once more, then recorded as failed.

Optuna and Dask are imported only here (``nnctl sweep run``/``resume``), never by the rest of
the library, and only when a sweep runs: ``backends`` imports them; ``cluster`` starts or
reaches the Dask cluster; ``datasets`` reads and scatters the trials' data; ``study`` is the
Optuna study; ``loop`` sends the trials and takes them back; ``results`` writes what came back;
``prepare`` checks a sweep file's trials and creates or reopens the sweep directory.
"""

from nnctl.sweep.engine.backends import INSTALL_HINT, import_backends
from nnctl.sweep.engine.datasets import streams
from nnctl.sweep.engine.loop import RETRIES, OnEvent, SweepEvent, run_sweep
from nnctl.sweep.engine.prepare import check_sweep, open_sweep, start_sweep
from nnctl.sweep.spec import load_sweep

__all__ = [
    "INSTALL_HINT",
    "RETRIES",
    "OnEvent",
    "SweepEvent",
    "check_sweep",
    "import_backends",
    "load_sweep",
    "open_sweep",
    "run_sweep",
    "start_sweep",
    "streams",
]
