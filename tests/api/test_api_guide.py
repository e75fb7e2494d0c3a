"""docs/guides/python.md shows real output: each ```python block, run in order in one session
(from a fresh directory holding configs/moons.yaml), prints the ```text block after it, up to
the run ids and the last digits of floats."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

from helpers import CONFIGS, ROOT

GUIDE = ROOT / "docs" / "guides" / "python.md"
RUN_ID = re.compile(r"\d{8}-\d{6}-\d{3}-[0-9a-f]{4}")
FLOAT = re.compile(r"\d+\.\d+(?:e[-+]\d+)?")


def _pairs(text: str) -> list[tuple[str, str | None]]:
    """Each python block with the text block right after it (None when there is none)."""
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, re.S)
    out: list[tuple[str, str | None]] = []
    for kind, body in blocks:
        if kind == "python":
            out.append((body, None))
        elif out and out[-1][1] is None:
            out[-1] = (out[-1][0], body)
    return out


def _normal(text: str) -> str:
    text = RUN_ID.sub("RUN", text)
    return FLOAT.sub(lambda m: f"{float(m.group()):.6g}", text)


def test_the_guide_prints_what_it_shows(tmp_path: Path, runs_dir: Path, monkeypatch) -> None:
    (tmp_path / "configs").mkdir()
    shutil.copy(CONFIGS / "moons.yaml", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNCTL_RUNS_DIR", "runs")
    pairs = _pairs(GUIDE.read_text())
    assert len(pairs) >= 8 and all(shown is not None for _, shown in pairs)
    session: dict = {}
    for code, shown in pairs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(GUIDE), "exec"), session)
        assert _normal(out.getvalue()) == _normal(shown or ""), code
