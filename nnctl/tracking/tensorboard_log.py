"""Runs written as TensorBoard event files, with TensorBoard's own writer and protocol
buffers (no TensorFlow, no PyTorch): one folder per run, ``LOGDIR/RUN_ID`` (a sweep's trials
in ``LOGDIR/SWEEP_ID/RUN_ID``). In it the run's curves as scalars (step: the iteration), its
final scores (``final/...``), its layer sizes and config as text, and, written while it
trains, weight and gradient histograms.

Two event files per folder, so a run tracked again replaces what it can re-create: the
scalars and text (``*.nnctl``) are rewritten from the run directory; the histograms
(``*.histograms``) exist only from the training and are kept. The only importer of
TensorBoard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.tracking.record import RunRecord

SCALARS_SUFFIX = ".nnctl"
HISTOGRAMS_SUFFIX = ".histograms"
BINS = 30


def _proto() -> tuple[Any, Any, Any]:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    return event_pb2, summary_pb2, tensor_pb2


def _writer(folder: Path, suffix: str) -> Any:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    # a queue long enough that the training never waits on the writer's thread
    return EventFileWriter(str(folder), max_queue_size=1000, flush_secs=10, filename_suffix=suffix)


def _event(step: int, value: Any) -> Any:
    event_pb2, summary_pb2, _ = _proto()
    return event_pb2.Event(
        wall_time=time.time(), step=int(step), summary=summary_pb2.Summary(value=[value])
    )


def scalar(tag: str, value: float) -> Any:
    _, summary_pb2, _ = _proto()
    return summary_pb2.Summary.Value(tag=tag, simple_value=float(value))


def text(tag: str, markdown: str) -> Any:
    """A text summary as TensorBoard's text plugin reads it (a string tensor, Markdown)."""
    _, summary_pb2, tensor_pb2 = _proto()
    from tensorboard.compat.proto import tensor_shape_pb2, types_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
    )
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[markdown.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[]),
    )
    return summary_pb2.Summary.Value(tag=tag, metadata=meta, tensor=tensor)


def histogram(tag: str, values: np.ndarray) -> Any:
    """A histogram summary of ``values`` (any shape) in BINS equal buckets."""
    _, summary_pb2, _ = _proto()
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        v = np.zeros(1)
    counts, edges = np.histogram(v, bins=BINS)
    proto = summary_pb2.HistogramProto(
        min=float(v.min()),
        max=float(v.max()),
        num=float(v.size),
        sum=float(v.sum()),
        sum_squares=float(np.dot(v, v)),
        bucket_limit=[float(e) for e in edges[1:]],
        bucket=[float(c) for c in counts],
    )
    return summary_pb2.Summary.Value(tag=tag, histo=proto)


def layers_markdown(record: RunRecord) -> str:
    rows = [
        "| layer | units | activation | parameters |",
        "|---|---|---|---|",
        f"| 0 (input) | {(record.summary.layer_dims or ['?'])[0]} | | |",
    ]
    rows += [f"| {l} | {n} | {a} | {p} |" for l, n, a, p in record.layers]
    return "\n".join(rows)


def write_run(record: RunRecord, folder: Path) -> Path:
    """The run's scalars and text into ``folder`` (replacing those written before). Returns
    the event file. Raises OSError."""
    for old in folder.glob(f"events.out.tfevents.*{SCALARS_SUFFIX}"):
        old.unlink()
    w = _writer(folder, SCALARS_SUFFIX)
    try:
        last = 0
        for name, curve in record.curves.items():
            for step, value in curve:
                w.add_event(_event(step, scalar(name, value)))
                last = max(last, step)
        for k, v in record.scores.items():
            w.add_event(_event(last, scalar("final/" + k, v)))
        w.add_event(_event(0, text("layers", layers_markdown(record))))
        # four spaces: Markdown's code block, so the YAML keeps its lines
        config = "\n".join("    " + line for line in record.config_text.splitlines())
        w.add_event(_event(0, text("config", config)))
        w.flush()
        path = Path(w._file_name)
    finally:
        w.close()
    return path


class HistogramWriter:
    """Weight and gradient histograms of a training (and nothing else): ``weights/W1``,
    ``biases/b1``, ``gradients/dW1``, ``gradients/db1``, ... at the step they are given."""

    def __init__(self, folder: Path) -> None:
        self._w = _writer(folder, HISTOGRAMS_SUFFIX)

    def write(self, step: int, params: Any, gradients: Any) -> None:
        for l, (W, b) in enumerate(zip(params.Ws, params.bs), start=1):
            self._w.add_event(_event(step, histogram(f"weights/W{l}", W)))
            self._w.add_event(_event(step, histogram(f"biases/b{l}", b)))
        if gradients is not None:
            dWs, dbs = gradients
            for l, (dW, db) in enumerate(zip(dWs, dbs), start=1):
                self._w.add_event(_event(step, histogram(f"gradients/dW{l}", dW)))
                self._w.add_event(_event(step, histogram(f"gradients/db{l}", db)))

    def close(self) -> None:
        self._w.close()
