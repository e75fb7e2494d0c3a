"""Run resolution (id, prefix, latest, path) and the checked loader, through `nnctl predict`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nnctl.runs import load_run
from nnctl.system import RunError


@pytest.fixture
def points_csv(tmp_path: Path) -> Path:
    p = tmp_path / "points.csv"
    p.write_text("x1,x2\n0.0,1.0\n1.0,-0.5\n")
    return p


def _one_error_line(r) -> str:
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_run_found_by_full_id_prefix_latest_and_path(
    cli, moons_run: Path, points_csv: Path
) -> None:
    run_id = moons_run.name
    outputs = []
    for spec in (run_id, run_id[:15], "latest", str(moons_run)):
        r = cli("predict", spec, points_csv, "--json")
        assert r.exit_code == 0, (spec, r.stderr)
        outputs.append(json.loads(r.stdout))
    assert all(o == outputs[0] for o in outputs)
    assert [o["input"] for o in outputs[0]] == [f"{points_csv}[0]", f"{points_csv}[1]"]


def test_ambiguous_prefix_lists_candidates(
    cli, moons_run: Path, runs_dir: Path, points_csv: Path
) -> None:
    for suffix in ("aaaa", "aaab"):
        shutil.copytree(moons_run, runs_dir / f"20990101-000000-000-{suffix}")
    line = _one_error_line(cli("predict", "20990101", points_csv))
    assert "ambiguous" in line
    assert "20990101-000000-000-aaaa" in line and "20990101-000000-000-aaab" in line


def test_unknown_id_names_the_runs_directory(
    cli, moons_run: Path, runs_dir: Path, points_csv: Path
) -> None:
    line = _one_error_line(cli("predict", "1999", points_csv))
    assert "1999" in line and str(runs_dir) in line


def test_spec_with_dotdot_is_a_path_not_an_id(
    cli, moons_run: Path, runs_dir: Path, points_csv: Path
) -> None:
    line = _one_error_line(cli("predict", f"../{moons_run.name}", points_csv))
    assert "no such run directory" in line


@pytest.mark.parametrize("status", ["interrupted", "running", "diverged", "failed"])
def test_incomplete_run_refused_saying_its_status(
    cli, moons_run: Path, points_csv: Path, status: str
) -> None:
    s = json.loads((moons_run / "summary.json").read_text())
    s["status"] = status
    (moons_run / "summary.json").write_text(json.dumps(s))
    line = _one_error_line(cli("predict", str(moons_run), points_csv))
    assert f"run is {status}" in line and "complete" in line


def _params(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "params.npz") as z:
        return {k: z[k] for k in z.files}


def test_object_array_refused_naming_the_key_never_unpickled(
    cli, moons_run: Path, points_csv: Path
) -> None:
    p = _params(moons_run)
    p["b2"] = np.array([{"evil": 1}], dtype=object)
    np.savez(moons_run / "params.npz", **p)
    line = _one_error_line(cli("predict", str(moons_run), points_csv))
    assert "b2 is an object array" in line


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.pop("W2"), "missing W2"),
        (
            lambda p: p.update(W1=p["W1"][:, :1]),
            "W1 has shape (8, 1), but config.yaml's layer_dims say (8, 2)",
        ),
        (
            lambda p: p.update(b1=np.full_like(p["b1"], np.nan)),
            "b1 contains NaN or infinite values",
        ),
        (lambda p: p.update(W3=np.zeros((1, 1))), "unexpected arrays W3"),
        (lambda p: p.update(W1=p["W1"].astype(np.int64)), "W1 has dtype int64"),
    ],
)
def test_damaged_params_refused(
    cli, moons_run: Path, points_csv: Path, damage, message: str
) -> None:
    p = _params(moons_run)
    damage(p)
    np.savez(moons_run / "params.npz", **p)
    line = _one_error_line(cli("predict", str(moons_run), points_csv))
    assert "params.npz" in line and message in line


def test_missing_or_garbage_files_are_one_line_errors(
    cli, moons_run: Path, points_csv: Path
) -> None:
    (moons_run / "params.npz").write_bytes(b"not a zip file")
    assert "params.npz: damaged" in _one_error_line(cli("predict", str(moons_run), points_csv))
    (moons_run / "params.npz").unlink()
    assert "params.npz: missing" in _one_error_line(cli("predict", str(moons_run), points_csv))
    (moons_run / "config.yaml").unlink()
    assert "config.yaml: missing" in _one_error_line(cli("predict", str(moons_run), points_csv))
    (moons_run / "summary.json").write_text("{not json")
    assert "summary.json: damaged" in _one_error_line(cli("predict", str(moons_run), points_csv))


def test_load_run_returns_config_summary_and_params(moons_run: Path) -> None:
    run = load_run(moons_run)
    assert run.run_id == moons_run.name
    assert run.config.layer_dims == [2, 8, 1]
    assert run.summary.status == "complete"
    assert [W.shape for W in run.params.Ws] == [(8, 2), (1, 8)]
    assert [b.shape for b in run.params.bs] == [(8, 1), (1, 1)]
    np.testing.assert_array_equal(run.params.Ws[0], _params(moons_run)["W1"])


def test_load_run_on_damaged_config(moons_run: Path) -> None:
    (moons_run / "config.yaml").write_text("layer_dims: [2, 8, 1]\n")
    with pytest.raises(RunError, match="damaged run config"):
        load_run(moons_run)
