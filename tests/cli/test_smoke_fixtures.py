import json
from pathlib import Path


def test_moons_run_fixture_leaves_a_complete_run(moons_run: Path) -> None:
    assert sorted(p.name for p in moons_run.iterdir()) == [
        "config.yaml",
        "history.csv",
        "params.npz",
        "summary.json",
    ]
    assert json.loads((moons_run / "summary.json").read_text())["status"] == "complete"
