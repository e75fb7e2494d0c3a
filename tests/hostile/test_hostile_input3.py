"""Hostile input, round 3 (issue 29), the data and commands classes: defects a user meets
without trying (a run on a .npy pair through evaluate and report, an image on standard input),
ambiguous own-data rules, bounded error lines, checks in the right order, non-UTF-8 names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.owndata import make_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


def trained(cli, config: Path, *args: str) -> Path:
    r = cli("train", config, "-q", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def no_traceback(r) -> None:
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr.replace("error:", ""), r.stderr


# --------------------------------------------------------------------------- 1. defects


def test_a_run_on_a_npy_pair_evaluates_and_reports(
    cli, project: Path, runs_dir: Path, tmp_path: Path
) -> None:
    run = trained(cli, project / "configs" / "points_npy.yaml", "--set", "iterations=50")
    r = cli("evaluate", run, "--json")
    no_traceback(r)
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["n"] == 60 and got["data"].startswith("test split (x: ")
    assert "differs from the train file" not in r.stderr  # x and y compared with their own hash
    r = cli("evaluate", run, "--split", "train", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 240
    r = cli("report", run, "-o", tmp_path / "report.html")
    no_traceback(r)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "report.html").stat().st_size > 0


def test_an_image_on_standard_input_is_predicted(cli, project: Path, runs_dir: Path) -> None:
    run = trained(cli, project / "configs" / "shapes_folder.yaml", "--set", "epochs=2")
    image = sorted((project / "data" / "examples" / "shapes" / "circle").iterdir())[0]
    by_name = cli("predict", run, image, "--json")
    assert by_name.exit_code == 0, by_name.stderr
    r = cli("predict", run, "-", "--json", input=image.read_bytes())
    assert r.exit_code == 0, r.stderr
    [piped] = json.loads(r.stdout)
    assert piped["input"] == "-"
    assert piped["probabilities"] == json.loads(by_name.stdout)[0]["probabilities"]
    r = cli("predict", run, "-", input=b"not an image")
    assert r.exit_code == 1
    assert (
        r.stderr.splitlines()[0] == "error: - (standard input): not an image file Pillow can read"
    )
