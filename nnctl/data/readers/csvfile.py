"""CSV files (standard library ``csv``; no pandas): a header naming the columns (or none, when
every cell of the first line is a number: columns are then named 0, 1, ...), one example per
line. ``label`` picks the target column(s) (a name or an index; default the last column),
``features`` the input columns (default all others). Commas, semicolons (European
spreadsheets) and tabs are detected from the first line, or set with ``delimiter``.

Every error names the file, the line as an editor shows it (from 1, header included) and the
column."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.readers.base import RawSplit, ReadOptions, memory_limit
from nnctl.system import DataError, quote, quote_list

TEXT_TO_MEMORY = 16  # bytes of memory per byte of CSV text while parsing (generous)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _delimiter(first_line: str, given: str | None) -> str:
    if given:
        return given
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column(spec: Any, names: list[str], path: Path, what: str) -> int:
    """A column given by name or index -> its index."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        if -len(names) <= spec < len(names):
            return spec % len(names)
        raise DataError(
            f"{path}: {what} column {spec} is out of range; the file has {len(names)} columns"
        )
    if str(spec) in names:
        return names.index(str(spec))
    raise DataError(f"{path}: no {what} column {quote(spec)}; the header has {quote_list(names)}")


def _unique_names(path: Path, names: list[str]) -> None:
    """A header naming a column twice is ambiguous (which one is the label, which a feature?):
    refused naming the first repeated column and where it stands (columns from 1)."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            shown = quote(name) if name else "'' (an empty name)"
            raise DataError(
                f"{path}: the header names column {shown} twice (columns {first[name] + 1} "
                f"and {i + 1}); give every column its own name"
            )
        first[name] = i


def _name(column: str) -> str:
    """A column's name as a message shows it (a header cell can be any length)."""
    return quote_list([column], width=60)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def read_csv(path: Path, options: ReadOptions) -> RawSplit:
    """x: (m, n_features) float64; y: (m,) numbers, or (m,) class indices into ``classes``
    when the label column holds names (``classes`` sorted), or (m, k) for several labels."""
    try:
        size = path.stat().st_size
        # parsed cells live as Python floats (~32 bytes each) before they become one array
        if size * TEXT_TO_MEMORY > memory_limit():
            raise DataError(
                f"{path}: {size:,} bytes of CSV would need about {size * TEXT_TO_MEMORY:,} "
                "bytes of memory to parse; convert it to .npy or HDF5 first"
            )
        with open(path, newline="", encoding="utf-8-sig") as f:
            text_first = f.readline()
            f.seek(0)
            delim = _delimiter(text_first, options.spec.get("delimiter"))
            rows = csv.reader(f, delimiter=delim)
            return _parse(path, rows, options, delim)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file (expected CSV)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _parse(path: Path, rows: Any, options: ReadOptions, delim: str) -> RawSplit:
    first = next(rows, None)
    while first is not None and not any(c.strip() for c in first):
        first = next(rows, None)
    if first is None:
        raise DataError(
            f"{path}: no examples (an empty file; expected a header line and one example per line)"
        )
    header = [c.strip() for c in first]
    has_header = any(_number(c) is None for c in header)
    names = header if has_header else [str(i) for i in range(len(header))]
    _unique_names(path, names)
    label_spec = options.spec.get("label")
    label_cols: list[int] = []
    if options.need_labels or label_spec is not None:
        wanted = _as_list(label_spec) if label_spec is not None else [len(names) - 1]
        try:
            label_cols = [_column(c, names, path, "label") for c in wanted]
        except DataError:
            if options.need_labels:
                raise
            label_cols = []  # predict: rows without the label column
    feature_spec = options.spec.get("features")
    if feature_spec is not None:
        feature_cols = [_column(c, names, path, "feature") for c in _as_list(feature_spec)]
    else:
        feature_cols = [i for i in range(len(names)) if i not in label_cols]
    if not options.need_labels and label_spec is None and feature_spec is None:
        feature_cols, label_cols = list(range(len(names))), []  # predict: every column is a feature
    if not feature_cols:
        raise DataError(f"{path}: no feature columns (the only column is the label)")
    xs: list[list[float]] = []
    labels: list[list[str]] = []
    line_nos: list[int] = []
    pending = [] if has_header else [first]
    line = rows.line_num if not has_header else None

    def records():
        for r in pending:
            yield line, r
        for r in rows:
            yield rows.line_num, r

    for line_no, row in records():
        if not any(c.strip() for c in row):
            continue  # blank lines, as spreadsheets leave at the end
        if len(row) != len(names):
            raise DataError(
                f"{path}, line {line_no}: {len(row)} fields, but the header has {len(names)} "
                f"(delimiter {delim!r}); every line needs one value per column"
            )
        values = []
        for i in feature_cols:
            cell = row[i].strip()
            v = _number(cell)
            if v is None and options.lenient:
                v = math.nan
            elif v is None:
                what = (
                    "an empty cell (missing value)"
                    if not cell
                    else f"{quote(cell)} is not a number"
                )
                raise DataError(f"{path}, line {line_no}, column {_name(names[i])}: {what}")
            if not math.isfinite(v) and not options.lenient:
                raise DataError(
                    f"{path}, line {line_no}, column {_name(names[i])}: {quote(cell)} is not "
                    "a finite number; clean the data first"
                )
            values.append(v)
        xs.append(values)
        labels.append([row[i].strip() for i in label_cols])
        line_nos.append(line_no)
    if not xs:
        raise DataError(f"{path}: no examples (a header line only)")
    x = np.array(xs, dtype=np.float64)
    label_names = [names[i] for i in label_cols]
    y_key = ", ".join(label_names)
    if not label_cols:
        raw = RawSplit(x, None, None, path, "features", "")
    else:
        raw = _labels(path, x, labels, label_names, y_key, options, line_nos)
    raw.columns = [names[i] for i in feature_cols]
    return raw


def _labels(
    path: Path,
    x: np.ndarray,
    labels: list[list[str]],
    label_names: list[str],
    y_key: str,
    options: ReadOptions,
    line_nos: list[int],
) -> RawSplit:
    numeric = [[_number(c) for c in r] for r in labels]
    all_numbers = all(v is not None for r in numeric for v in r)
    if options.task == "regression" or len(label_names) > 1:
        for k, r in enumerate(numeric):
            for j, v in enumerate(r):
                if v is None or not math.isfinite(v):
                    cell = labels[k][j]
                    what = (
                        "an empty cell (missing value)"
                        if not cell
                        else f"{quote(cell)} is not a number"
                    )
                    raise DataError(
                        f"{path}, line {line_nos[k]}, column {_name(label_names[j])}: {what} "
                        "(real-valued targets need numbers)"
                    )
        y = np.array(numeric, dtype=np.float64)
        return RawSplit(x, y if y.shape[1] > 1 else y[:, 0], None, path, "features", y_key)
    column = [r[0] for r in labels]
    if all_numbers:
        y = np.array([v for r in numeric for v in r], dtype=np.float64)
        return RawSplit(x, y, None, path, "features", y_key)
    for k, cell in enumerate(column):
        if not cell:
            raise DataError(
                f"{path}, line {line_nos[k]}, column {_name(label_names[0])}: an empty label"
            )
    classes = sorted(set(column))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in column], dtype=np.int64)
    raw = RawSplit(x, y, classes, path, "features", y_key)
    raw.named = True
    return raw
