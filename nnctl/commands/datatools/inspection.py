"""``nnctl data inspect``: a dataset described before training (examples per split and class,
value ranges, non-finite cells, examples in both train and test, class balance), read whole or,
for an HDF5 file larger than memory, a block at a time."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nnctl.data import OnProgress, ReadOptions
from nnctl.system import DataError


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
