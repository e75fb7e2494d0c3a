"""Both ways the README installs the course's cat data work, from any working directory: the
files copied into the project's data/ (found beside the config, which names ../data/), or a
folder named by $NNCTL_DATA_DIR. CI runs the whole realdata suite both ways (.ci/run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import CAT_FILES, CONFIGS, course


@pytest.mark.parametrize("way", ["copied into data/", "NNCTL_DATA_DIR"])
def test_cat_config_finds_its_data(
    cli, runs_dir: Path, cat_dir: Path, tmp_path: Path, monkeypatch, way
) -> None:
    proj = tmp_path / "proj"
    (proj / "configs").mkdir(parents=True)
    (proj / "data").mkdir()
    config = proj / "configs" / "cat_deep.yaml"
    config.write_text((CONFIGS / "cat_deep.yaml").read_text())
    if way == "copied into data/":
        for name in CAT_FILES:
            shutil.copy(cat_dir / name, proj / "data" / name)
        monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "nowhere"))
        expected = proj / "data"
    else:
        monkeypatch.setenv("NNCTL_DATA_DIR", str(cat_dir))
        expected = cat_dir
    for cwd in (proj, tmp_path, proj / "configs"):
        monkeypatch.chdir(cwd)
        r = cli("train", config, "--set", "iterations=1", "--json", "--quiet")
        assert r.exit_code == 0, (cwd, r.stderr)
        out = json.loads(r.stdout)
        assert out["final_cost"] == pytest.approx(
            course.L_LAYER_COSTS[0], rel=0, abs=course.COST_ABS
        )
        sources = json.loads((Path(out["run_dir"]) / "summary.json").read_text())["dataset"][
            "sources"
        ]
        assert [s["path"] for s in sources] == [str((expected / n).resolve()) for n in CAT_FILES]


def test_without_the_data_the_error_says_where_it_looked_and_how_to_fix_it(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("NNCTL_DATA_DIR", raising=False)
    (tmp_path / "configs").mkdir()
    config = tmp_path / "configs" / "cat_deep.yaml"
    config.write_text((CONFIGS / "cat_deep.yaml").read_text())
    r = cli("train", config)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr == (
        "error: ../data/train_catvnoncat.h5: data file not found (searched "
        f"{tmp_path.parent / 'data' / CAT_FILES[0]}, "
        f"{tmp_path / 'data' / CAT_FILES[0]}, named in {config}); set NNCTL_DATA_DIR to the "
        "folder that holds it, "
        "or copy it into data/\n"
    )
    assert not runs_dir.exists()
