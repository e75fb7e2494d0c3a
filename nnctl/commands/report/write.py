"""``write_report``: every run gathered, the page rendered and written atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from nnctl import runs
from nnctl.commands.report.gather import MAX_ERROR_IMAGES, gather
from nnctl.commands.report.page import render
from nnctl.runs import LoadedRun
from nnctl.system import UsageError


@dataclass
class ReportInfo:
    """What ``write_report`` did: bytes written, runs shown, seconds taken."""

    path: Path
    size: int
    runs: int
    seconds: float


def check_output(out: Path) -> None:
    """Refuses an -o that cannot be written before any work is done."""
    if out.is_dir():
        raise UsageError(f"-o {out}: is a directory; give a file name such as report.html")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: directory {out.parent} does not exist")


def write_report(
    loaded: list[LoadedRun], out: Path, max_errors: int = MAX_ERROR_IMAGES
) -> ReportInfo:
    """Gathers every run, renders the page and writes it atomically to ``out``."""
    check_output(out)
    start = time.perf_counter()
    page = render([gather(run, max_errors) for run in loaded])
    data = page.encode("utf-8")
    runs.atomic_write(out, data)
    return ReportInfo(out, len(data), len(loaded), time.perf_counter() - start)
