"""``load_dataset``: the resolved ``dataset`` mapping of a config -> a ``Dataset``, from its
files (``files``) or a synthetic generator (``synthetic``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnctl.data.dataset.container import Dataset
from nnctl.data.dataset.files import load_files
from nnctl.data.dataset.synthetic import load_synthetic


def load_dataset(
    spec: dict[str, Any],
    dtype: str = "float64",
    task: str = "classification",
    config_file: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Dataset:
    """The resolved ``dataset`` mapping of a config -> Dataset. Raises DataError.

    ``config_file``: the config that names the files; relative paths are also looked up beside it.

    ``task`` says how to read a file's ``*_y`` array: class labels ("classification") or
    real-valued targets ("regression", for a linear output). A synthetic generator has its own.
    ``on_progress(done, total)`` is called while an image folder is decoded.
    """
    np_dtype = np.dtype(dtype).type
    if "synthetic" in spec:
        return load_synthetic(spec, np_dtype)
    return load_files(spec, np_dtype, task, config_file, on_progress)
