"""The raw images of evaluated examples (read back from their data file or folder), and
``evaluate --errors``: the misclassified ones written out as PNG files."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnctl import runs
from nnctl.commands.evaluate.data import READER_KEYS
from nnctl.data import read_rows
from nnctl.runs import LoadedRun
from nnctl.system import ConfigError, DataError, RunError

if TYPE_CHECKING:
    from nnctl.commands.evaluate.scores import Evaluation


def raw_images(path: Path, spec: dict[str, Any], rows: np.ndarray) -> list[np.ndarray]:
    """The raw examples ``rows`` of a data file or image folder. From a course-style HDF5 file
    only those rows are read (the file may be larger than memory); other kinds are read whole."""
    if not path.is_dir():
        try:
            return read_rows(path, rows)
        except DataError:
            pass
    x = raw_examples(path, spec)
    return [x[int(r)] for r in rows]


def raw_examples(path: Path, spec: dict[str, Any]) -> np.ndarray:
    """The raw examples (m, ...) of a data file or image folder, read as ``spec`` says."""
    from nnctl.data import ReadOptions, read_source

    return read_source(path, ReadOptions({k: spec.get(k) for k in READER_KEYS})).x


def _safe(name: str) -> str:
    """A class name usable in a file name on every platform."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "class"


def check_errors_dir(run: LoadedRun, directory: Path) -> None:
    """Refuses ``--errors DIR`` before any work: a run on feature vectors, or DIR an existing
    non-directory."""
    if run.task == "regression":
        raise ConfigError(
            "--errors writes misclassified images, but this run is a regression (it has no classes)"
        )
    if run.preprocessing.kind != "image":
        raise ConfigError("--errors writes images, but this run was trained on feature vectors")
    if directory.exists() and not directory.is_dir():
        raise RunError(f"{directory}: exists and is not a directory (--errors needs a directory)")


def write_errors(ev: Evaluation, directory: Path) -> list[Path]:
    """Writes each misclassified example of an image dataset as
    ``<index>_true-<class>_pred-<class>.png`` (index into the evaluated data, zero-padded) into
    ``directory`` (created if needed). Returns the paths written."""
    from PIL import Image

    if ev.raw_file is None:
        raise ConfigError(
            "--errors writes images, but this run's data are feature vectors, not images"
        )
    wrong = ev.misclassified
    rows = ev.raw_index if ev.raw_index is not None else np.arange(ev.n)
    images = raw_images(ev.raw_file, ev.raw_spec or {}, rows[wrong])
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{directory}: cannot create: {exc.strerror or exc}") from None
    width = max(4, len(str(ev.n - 1)))
    written = []
    for i, img in zip(wrong, images):
        if img.dtype != np.uint8:
            raise DataError(
                f"{ev.raw_file}: images are {img.dtype}, --errors writes 8-bit images only"
            )
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        true, pred = _safe(ev.classes[ev.Y[i]]), _safe(ev.classes[ev.labels[i]])
        name = f"{i:0{width}d}_true-{true}_pred-{pred}.png"
        runs.atomic_write(directory / name, buf.getvalue())
        written.append(directory / name)
    return written
