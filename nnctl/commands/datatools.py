"""``nnctl data inspect`` and ``nnctl data import``: a dataset described before training, and
any readable dataset written as a course-style HDF5 file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data import OnProgress, ReadOptions
from nnctl.system import DataError

IMPORT_CHUNK = 64  # examples per HDF5 chunk: a streaming reader reads blocks of this many


def _read_unchecked(
    value: Any, spec: dict[str, Any], config_file: str | None, options: ReadOptions
) -> Any:
    from nnctl.data import read_raw_split

    return read_raw_split(value, options, config_file)


def _split_info(raw: Any, classes: list[str] | None) -> dict[str, Any]:
    x = raw.x
    info: dict[str, Any] = {
        "path": os.path.normpath(raw.path),
        "kind": raw.kind,
        "examples": int(x.shape[0]),
        "example_shape": [int(s) for s in x.shape[1:]],
        "dtype": str(x.dtype),
    }
    if x.dtype.kind in "uifb" and x.size:
        finite = np.isfinite(x) if x.dtype.kind == "f" else np.ones(x.shape, dtype=bool)
        info["non_finite_cells"] = int(x.size - np.count_nonzero(finite))
        values = x[finite]
        info["min"] = float(values.min()) if values.size else None
        info["max"] = float(values.max()) if values.size else None
        if x.ndim == 2:
            names = raw.columns or [str(i) for i in range(x.shape[1])]
            # over each feature's finite values (an infinite cell is counted above; JSON has no inf)
            info["feature_ranges"] = {
                n: [float(c[np.isfinite(c)].min()), float(c[np.isfinite(c)].max())]
                if np.isfinite(c).any()
                else None
                for n, c in zip(names, x.T.astype(np.float64))
            }
    y = raw.y
    if y is not None:
        y = np.asarray(y)
        if classes and y.ndim == 1 and y.dtype.kind in "iu":
            info["per_class"] = {c: int(np.count_nonzero(y == k)) for k, c in enumerate(classes)}
        elif (
            y.ndim == 1
            and y.dtype.kind in "uif"
            and np.all(np.isfinite(y))
            and np.all(y == np.round(y))
        ):
            values, counts = np.unique(y, return_counts=True)
            info["per_class"] = {str(int(v)): int(n) for v, n in zip(values, counts)}
        else:
            info["targets"] = [int(s) for s in y.shape[1:]] or [1]
    return info


def inspect(
    spec: dict[str, Any], config_file: str | None = None, on_progress: OnProgress | None = None
) -> dict[str, Any]:
    """Kind, examples per split and class, example shape, value ranges, non-finite cells,
    examples that appear in both train and test, and class balance. Raises DataError for data
    that cannot be read at all."""
    from nnctl.data import per_example, raw_subset, split_off_test

    options = ReadOptions(spec, on_progress=on_progress, lenient=True)
    large = {
        role: h
        for role in ("train", "val", "test")
        if spec.get(role) and (h := _too_large_header(spec[role], config_file)) is not None
    }
    if large:
        return _inspect_in_blocks(spec, config_file, large, options)
    raws = {}
    for role in ("train", "val", "test"):
        if spec.get(role):
            raws[role], _ = _read_unchecked(spec[role], spec, config_file, options)
            # values may be bad (they are counted), but x and y must agree in length, checked
            # before rows are drawn from both (test_fraction)
            per_example(raws[role])
    train = raws["train"]
    if spec.get("test_fraction") and "test" not in raws:
        tr, te = split_off_test(train.x.shape[0], spec["test_fraction"], spec.get("seed") or 1)
        raws["test"], raws["train"] = raw_subset(train, te), raw_subset(train, tr)
    classes = train.classes
    out: dict[str, Any] = {"kind": train.kind, "classes": classes, "splits": {}}
    for role, raw in raws.items():
        out["splits"][role] = _split_info(
            raw, classes if raw.classes == classes or not raw.named else raw.classes
        )
    if train.x.ndim >= 3:
        out["image_size"] = [int(s) for s in train.x.shape[1:]]
    else:
        out["features"] = int(np.prod(train.x.shape[1:]))
    if "test" in raws and raws["test"].x.shape[1:] == raws["train"].x.shape[1:]:
        seen = {raws["train"].x[i].tobytes() for i in range(raws["train"].x.shape[0])}
        out["duplicates_train_test"] = sum(
            raws["test"].x[i].tobytes() in seen for i in range(raws["test"].x.shape[0])
        )
    return _finish_inspection(out, options)


def _finish_inspection(out: dict[str, Any], options: ReadOptions) -> dict[str, Any]:
    """The class balance of the training split, and the readers' warnings."""
    per = out["splits"]["train"].get("per_class")
    if per:
        counts = list(per.values())
        out["class_balance"] = round(min(counts) / max(counts), 4) if max(counts) else None
    out["warnings"] = options.warnings
    return out


def _too_large_header(value: Any, config_file: str | None) -> Any:
    """The header (``stream.read_h5_header``) of a course-style HDF5 file whose examples, as
    stored, would not fit in the memory share streaming uses; None for anything else."""
    from nnctl.data import course_h5_header, too_big

    header = course_h5_header(value, config_file)
    if header is None or not too_big([header], str(header.x.dtype))[0]:
        return None
    return header


def _inspect_in_blocks(
    spec: dict[str, Any], config_file: str | None, large: dict[str, Any], options: ReadOptions
) -> dict[str, Any]:
    """``inspect`` of data with a course-style HDF5 file too large for memory: every file is
    read a block at a time (``stream.BlockReader``) for its value range and non-finite cells;
    examples in both train and test are found by 16-byte BLAKE2b digests of each example's
    bytes (16 bytes an example instead of the example)."""
    from nnctl.data import read_h5_header

    if spec.get("test_fraction"):
        raise DataError(
            "dataset: test_fraction cannot split a file larger than memory; "
            "give a test file (dataset.test)"
        )
    headers = {}
    for role in ("train", "val", "test"):
        if spec.get(role):
            if role in large:
                headers[role] = read_h5_header(large[role].path)  # now with its labels
                continue
            raw, _ = _read_unchecked(spec[role], spec, config_file, options)
            if raw.kind != "hdf5":
                raise DataError(
                    f"{raw.path}: the training file is too large for memory and is inspected block "
                    "by block; give the other splits as course-style HDF5 files too"
                )
            from nnctl.data import resolve_path

            headers[role] = read_h5_header(resolve_path(spec[role], config_file))
    train = headers["train"]
    classes = train.classes
    out: dict[str, Any] = {"kind": "hdf5", "classes": classes, "splits": {}, "read_in_blocks": True}
    digests = {}
    for role, h in headers.items():
        out["splits"][role], digests[role] = _split_info_blocks(
            h, classes if h.classes == classes else h.classes
        )
    layout = train.x
    if layout.ndim >= 3:
        out["image_size"] = [int(s) for s in layout.shape[1:]]
    else:
        out["features"] = int(np.prod(layout.shape[1:]))
    if "test" in headers and headers["test"].x.shape[1:] == layout.shape[1:]:
        out["duplicates_train_test"] = int(
            np.count_nonzero(np.isin(digests["test"], digests["train"]))
        )
    return _finish_inspection(out, options)


def _split_info_blocks(header: Any, classes: list[str] | None) -> tuple[dict[str, Any], np.ndarray]:
    """``_split_info`` of an HDF5 file read block by block, and the digests (m,) of its examples."""
    import hashlib

    from nnctl.data import BlockReader

    layout = header.x
    plan = layout.block_plan()
    reader = BlockReader(layout, plan)
    buf = np.empty(
        (int(np.max(np.diff(plan))) if layout.m else 0, *layout.shape[1:]), dtype=layout.dtype
    )
    lo, hi, bad = np.inf, -np.inf, 0
    digests = np.empty(layout.m, dtype="S16")
    numeric = layout.dtype.kind in "uifb"
    rows = numeric and layout.ndim == 2  # feature rows: each feature's range too
    f_lo = np.full(layout.shape[1] if rows else 0, np.inf)
    f_hi = np.full(f_lo.size, -np.inf)
    try:
        for i in range(len(plan) - 1):
            n = reader.read(i, buf, 0, check_finite=False)
            part = buf[:n]
            a = int(plan[i])
            for j in range(n):
                digests[a + j] = hashlib.blake2b(part[j].tobytes(), digest_size=16).digest()
            if numeric and n:
                finite = np.isfinite(part) if part.dtype.kind == "f" else None
                values = part[finite] if finite is not None else part
                bad += 0 if finite is None else int(finite.size - np.count_nonzero(finite))
                if values.size:
                    lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
                if rows:
                    p64 = part.astype(np.float64)
                    ok = np.isfinite(p64)
                    np.minimum(f_lo, np.where(ok, p64, np.inf).min(axis=0), out=f_lo)
                    np.maximum(f_hi, np.where(ok, p64, -np.inf).max(axis=0), out=f_hi)
    finally:
        reader.close()
    info: dict[str, Any] = {
        "path": os.path.normpath(header.path),
        "kind": "hdf5",
        "examples": layout.m,
        "example_shape": [int(s) for s in layout.shape[1:]],
        "dtype": str(layout.dtype),
    }
    if numeric and layout.m:
        info.update(
            non_finite_cells=bad,
            min=lo if np.isfinite(lo) else None,
            max=hi if np.isfinite(hi) else None,
        )
        if rows:
            info["feature_ranges"] = {
                str(i): [float(a), float(b)] if np.isfinite(a) else None
                for i, (a, b) in enumerate(zip(f_lo, f_hi))
            }
    y = np.asarray(header.y)
    if classes and y.ndim == 1 and y.dtype.kind in "iu":
        info["per_class"] = {c: int(np.count_nonzero(y == k)) for k, c in enumerate(classes)}
    elif y.ndim == 1 and y.dtype.kind in "iu":
        values, counts = np.unique(y, return_counts=True)
        info["per_class"] = {str(int(v)): int(n) for v, n in zip(values, counts)}
    return info, digests


IMPORT_WINDOW = 256  # images of a folder decoded and written at a time


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
        with h5py.File(f, "w") as h:
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
