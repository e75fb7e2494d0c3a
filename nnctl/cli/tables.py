"""Tables of runs as text: aligned columns for people (the same on a terminal and in a pipe:
one row per line, never folded), CSV and TSV for spreadsheets and ``cut``, JSON for programs.

Drawn by hand rather than with rich: rich measures every cell of every row, which took 2 s
for 1,000 runs; this takes milliseconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "csv", "tsv", "json")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns padded to their widest cell, two spaces apart; ``right[j]`` right-aligns
    column j (numbers). Trailing spaces are dropped."""
    widths = [max([len(h), *(len(r[j]) for r in rows)]) for j, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)
        ).rstrip()

    return "\n".join([line(headers), *map(line, rows)]) + "\n"


def delimited(headers: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str) -> str:
    """CSV (``,``, quoted as needed) or TSV (tabs; a tab or newline inside a cell becomes a
    space, so every row stays one line)."""
    out = io.StringIO()
    if delimiter == "\t":
        clean = [[c.replace("\t", " ").replace("\n", " ") for c in r] for r in [headers, *rows]]
        out.write("".join("\t".join(r) + "\n" for r in clean))
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    return out.getvalue()


def json_rows(columns: Sequence[str], values: Sequence[Sequence[Any]]) -> str:
    import json  # here, not at the top: `nnctl --help` imports no json

    return json.dumps([dict(zip(columns, v)) for v in values], allow_nan=False) + "\n"
