"""The trials' datasets: each distinct one read once by the client and scattered to the
workers, unless its trials stream it from its files themselves."""

from __future__ import annotations

import json
from typing import Any


def dataset_key(cfg: Any) -> str:
    """What makes two trial configs' data the same: the dataset, its dtype and the task."""
    return json.dumps([cfg.dataset, cfg.dtype, cfg.arch.loss.task], sort_keys=True, default=str)


def streams(cfg: Any) -> bool:
    """Whether ``cfg``'s data is streamed from its files (``dataset.stream``, or too large for
    memory: ``nnctl.data.stream.streaming_plan``). Such a dataset is neither read nor scattered by
    the client: each trial streams it from the file's path itself, as ``train`` would, so the
    workers must see the file at that path (always so for the local cluster)."""
    from nnctl.data import streaming_plan

    return streaming_plan(cfg.dataset, cfg.path, cfg.source, cfg.dtype, cfg.batch_size).stream


class Datasets:
    """Each distinct dataset of the sweep's trials, read once here and scattered once (again
    only if every worker that held it is gone). Datasets are small next to a sweep's parameters."""

    def __init__(self, client: Any) -> None:
        self.client, self.futures = client, {}
        self.streamed: dict[str, bool] = {}  # per dataset: whether its trials stream it

    def future(self, cfg: Any, loaded: Any = None) -> Any:
        """The scattered dataset of ``cfg``'s trials; None for data streamed from its files,
        which each trial reads itself (``streams``). ``loaded``: the dataset as the caller
        already read it (``nnctl cv``), scattered instead of reading it again."""
        from nnctl.data import load_dataset

        key = dataset_key(cfg)
        if key not in self.streamed:  # the files' headers are read once per dataset, not per trial
            self.streamed[key] = streams(cfg)
        if self.streamed[key]:
            return None
        held = self.futures.get(key)
        if held is None or held[1].status != "finished":  # new, or every worker holding it died
            if held is not None:
                ds = held[0]
            elif loaded is not None:
                ds = loaded
            else:
                ds = load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
            # to every worker: a worker that dies takes no other worker's copy with it
            self.futures[key] = (ds, self.client.scatter(ds, hash=False, broadcast=True))
        return self.futures[key][1]
