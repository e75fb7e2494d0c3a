"""The manual cannot drift from the code: the committed reference pages (docs/reference/) are what
scripts/gen_reference.py builds from it, a planted difference is caught and named, and the
README's test command installs every extra, exactly as CI does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_reference.py"
REFERENCE = ROOT / "docs" / "reference"


def _gen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_the_committed_reference_is_what_the_code_gives() -> None:
    r = _gen("--check")
    assert r.returncode == 0, f"stale reference pages:\n{r.stderr}"
    assert r.stdout == ""


def test_a_planted_edit_is_detected_and_named(tmp_path: Path) -> None:
    pages = tmp_path / "reference"
    shutil.copytree(REFERENCE, pages)
    assert _gen("--check", "--out", pages).returncode == 0
    config = pages / "config.md"
    config.write_text(config.read_text().replace("| `learning_rate` |", "| `learning_rat` |"))
    r = _gen("--check", "--out", pages)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"{config}: stale; run python scripts/gen_reference.py"]


def test_a_missing_or_stray_page_is_detected(tmp_path: Path) -> None:
    pages = tmp_path / "reference"
    shutil.copytree(REFERENCE, pages)
    (pages / "commands.md").unlink()
    (pages / "old-page.md").write_text("# left over\n")
    r = _gen("--check", "--out", pages)
    assert r.returncode == 1
    assert "commands.md: stale" in r.stderr and "old-page.md: stale" in r.stderr
    assert "config.md" not in r.stderr


def test_writing_gives_pages_the_check_accepts(tmp_path: Path) -> None:
    pages = tmp_path / "fresh"
    r = _gen("--out", pages)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in pages.iterdir()) == sorted(p.name for p in REFERENCE.iterdir())
    assert _gen("--check", "--out", pages).returncode == 0


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """No broken link or anchor, no page outside the navigation (mkdocs.yml). Not with -q:
    mkdocs 1.6 then drops the warnings that --strict counts, and passes anything."""
    pytest.importorskip("material", reason="the docs extra: pip install -e '.[docs]'")
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert (site / "index.html").is_file() and (
        site / "reference" / "config" / "index.html"
    ).is_file()


def _extras(command: str) -> set[str]:
    found = re.search(r"-e '\.\[([\w,-]+)\]'", command)
    assert found, command
    return set(found.group(1).split(","))


def test_the_readme_test_command_installs_every_extra_as_ci_does() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "python -m pytest -q" in line)
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    assert _extras(command) == extras
    install = command.split(" && ")[0]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install in ci, f"{install!r} is not a line of .ci/run"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_the_site_home_gives_the_readme_set_up_commands() -> None:
    readme = _bash_blocks((ROOT / "README.md").read_text())
    home = _bash_blocks((ROOT / "docs" / "index.md").read_text())
    assert readme[:2] == home[:2] and len(readme[0].splitlines()) == 1
