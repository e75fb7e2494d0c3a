"""``nnctl data import``: any readable dataset written as a course-style HDF5 file (``PREFIX_x``,
``PREFIX_y``, ``list_classes``), chunked along the examples, whole or absent; an image folder a
window of images at a time."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data import OnProgress, ReadOptions
from nnctl.system import DataError

IMPORT_CHUNK = 64  # examples per HDF5 chunk: a streaming reader reads blocks of this many
IMPORT_WINDOW = 256  # images of a folder decoded and written at a time


class _Sink:
    """The file HDF5 writes to: ``f``'s descriptor, written directly (no Python buffer to fail
    later). HDF5 cannot recover from a failed write (a full disk): its file stays half-open,
    prints tracebacks and crashes the interpreter as it exits. So the first failure is kept and
    the writes after it are taken and dropped; HDF5 closes cleanly, and ``check`` raises the
    failure (``atomic_write`` then removes the file)."""

    def __init__(self, f: Any) -> None:
        self.fd, self.error, self.pos = f.fileno(), None, 0

    def _do(self, op: Any, *args: Any) -> Any:
        if self.error is None:
            try:
                return op(*args)
            except OSError as exc:
                self.error = exc
        return None

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view) and self.error is None:
            n = self._do(os.write, self.fd, view[done:])
            if n == 0:  # a regular file that takes nothing more: full
                self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            done += n or 0
        self.pos += len(view)
        return len(view)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self.pos = offset
        elif whence == os.SEEK_CUR:
            self.pos += offset
        else:  # from the end: only HDF5 asking the size, before any failure
            self.pos = os.fstat(self.fd).st_size + offset
        self._do(os.lseek, self.fd, self.pos, os.SEEK_SET)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def truncate(self, size: int) -> int:
        self._do(os.ftruncate, self.fd, size)
        return size

    def flush(self) -> None:
        pass

    def read(self, size: int = -1) -> bytes:  # h5py takes an object with read and seek as a file
        return os.read(self.fd, size if size >= 0 else 1 << 20)

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def import_h5(
    source: Path,
    out: Path,
    spec: dict[str, Any],
    prefix: str = "train_set",
    on_progress: OnProgress | None = None,
    shuffle: int | None = None,
) -> dict[str, Any]:
    """Reads ``source`` (an image folder or any data file) and writes ``out``, a course-style
    HDF5 file: ``<prefix>_x`` (m, ...) as read (uint8 (m, h, w, c) for images), ``<prefix>_y``
    (m,) labels, ``list_classes``, chunked along the example axis; atomically (nothing is left
    at ``out`` if anything fails). An image folder is decoded and written ``IMPORT_WINDOW``
    images at a time, so a folder larger than memory imports in bounded memory. ``shuffle``: a
    seed to write the examples in a seeded random order instead of class then file order (what
    a streamed training wants: it shuffles only within a few blocks of the file). Returns what
    was written."""
    import h5py

    from nnctl.data import read_source
    from nnctl.runs import atomic_write

    if not out.parent.is_dir():
        raise DataError(f"-o {out}: directory {out.parent} does not exist")
    if out.is_dir():
        raise DataError(f"-o {out}: is a directory; give a file name")
    if source.is_dir():
        return _import_folder(source, out, spec, prefix, on_progress, shuffle)
    options = ReadOptions(spec, on_progress=on_progress)
    raw = read_source(source, options)
    if raw.y is None:
        raise DataError(f"{source}: no labels to import")
    x, y = raw.x, np.asarray(raw.y)
    if shuffle is not None:
        order = np.random.default_rng(shuffle).permutation(x.shape[0])
        x, y = x[order], y[order]
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset(
            f"{prefix}_x", data=x, chunks=(min(IMPORT_CHUNK, x.shape[0]), *x.shape[1:])
        )
        f.create_dataset(
            f"{prefix}_y", data=y, chunks=(min(IMPORT_CHUNK, y.shape[0]), *y.shape[1:])
        )
        if raw.classes:
            f.create_dataset("list_classes", data=np.array([c.encode() for c in raw.classes]))
    atomic_write(out, buf.getvalue())
    return {
        "path": str(out),
        "examples": int(x.shape[0]),
        "x": f"{prefix}_x",
        "shape": [int(s) for s in x.shape],
        "dtype": str(x.dtype),
        "classes": raw.classes,
        "shuffled": shuffle,
        "warnings": options.warnings,
    }


def _import_folder(
    source: Path,
    out: Path,
    spec: dict[str, Any],
    prefix: str,
    on_progress: OnProgress | None,
    shuffle: int | None,
) -> dict[str, Any]:
    """``import_h5`` of an image folder, a window of images at a time: each window is decoded
    in threads (as ``readers.folder`` reads a folder for training, through the same
    ``images.load_image``) and written to the file before the next is decoded."""
    import h5py

    from nnctl.data import decode_windows, input_shape, list_examples
    from nnctl.runs import atomic_write

    classes, files = list_examples(source)
    shape, mode = input_shape(spec, [f for f, _ in files])
    if shuffle is not None:
        files = [files[i] for i in np.random.default_rng(shuffle).permutation(len(files))]
    n, skip_bad = len(files), bool(spec.get("skip_bad"))
    warnings: list[str] = []
    written: dict[str, Any] = {}

    def write(f: Any) -> None:
        sink = _Sink(f)
        with h5py.File(sink, "w") as h:
            dx = h.create_dataset(
                f"{prefix}_x",
                shape=(n, *shape),
                maxshape=(None, *shape),
                dtype=np.uint8,
                chunks=(min(IMPORT_CHUNK, n), *shape),
            )
            labels: list[int] = []
            at = 0
            for images, window_labels, _, bad in decode_windows(
                files,
                shape,
                mode,
                skip_bad,
                IMPORT_WINDOW,
                on_progress,
                "use --skip-bad to skip unreadable files",
            ):
                dx[at : at + len(images)] = images
                sink.check()  # a full disk stops the import at once, HDF5 closed cleanly
                at += len(images)
                labels += window_labels
                warnings.extend(f"skipped {message}" for message in bad)
            if at < n:
                dx.resize(at, axis=0)
                warnings.append(f"{source}: skipped {n - at} unreadable file(s) of {n}")
            y = np.array(labels, dtype=np.int64)
            for c, name in enumerate(classes):
                if not np.any(y == c):
                    raise DataError(f"{source / name}: no readable images in this class folder")
            h.create_dataset(f"{prefix}_y", data=y, chunks=(max(1, min(IMPORT_CHUNK, y.shape[0])),))
            h.create_dataset("list_classes", data=np.array([c.encode() for c in classes]))
            written["m"] = at
        sink.check()

    atomic_write(out, write)
    return {
        "path": str(out),
        "examples": written["m"],
        "x": f"{prefix}_x",
        "shape": [written["m"], *shape],
        "dtype": "uint8",
        "classes": classes,
        "shuffled": shuffle,
        "warnings": warnings,
    }
