"""Tracking: runs also written to MLflow and TensorBoard (opt-in, offline by default).

- ``spec``: the config's ``tracking`` key and ``--track`` resolved to a ``TrackingSpec``;
  ``require_extras`` refuses a tracker whose extra is missing, before anything trains.
- ``record``: a run directory as the trackers log it (``RunRecord``: curves with their
  steps, scores, tags, files).
- ``session``: ``Tracking`` (one training: histograms while it trains, the run when it
  ends), ``track_runs`` (existing runs: ``nnctl runs track``), ``track_group`` (a sweep).
- ``mlflow_log`` and ``pyfunc`` (the only importers of MLflow), ``tensorboard_log`` (the
  only importer of TensorBoard), each imported only when its tracker writes.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "record": ["RunRecord", "read_record"],
        "session": ["Tracked", "Tracking", "track_group", "track_runs"],
        "spec": ["TrackingSpec", "parse_track", "require_extras", "resolve_tracking"],
    },
)
