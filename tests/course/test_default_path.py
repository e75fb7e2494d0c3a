"""The plain path (gd, full batch, no l2, no dropout) still gives the course's numbers, and
spelling its defaults out, or a batch at least as large as the data, changes nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from helpers import CONFIGS, course
from nnctl.commands import fit
from nnctl.config import apply_overrides, load_config, parse_yaml, resolve
from nnctl.training import bind


@pytest.mark.slow
def test_cat_deep_reproduces_the_course_curve(cli, runs_dir, cat_dir) -> None:
    r = cli("train", CONFIGS / "cat_deep.yaml", "--quiet", "--json", "--set", "iterations=101")
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    c = [row["cost"] for row in csv.DictReader(io.StringIO((run_dir / "history.csv").read_text()))]
    # The course notebook (Deep Neural Network - Application) prints these two costs.
    assert float(c[0]) == pytest.approx(course.L_LAYER_COSTS[0], rel=0, abs=course.COST_ABS)
    assert float(c[100]) == pytest.approx(course.L_LAYER_COSTS[1], rel=0, abs=course.COST_ABS)


def test_spelled_out_defaults_and_epochs_change_nothing(cat_dir) -> None:
    path = CONFIGS / "cat_deep.yaml"
    raw = parse_yaml(path.read_text(), str(path))

    def costs(*overrides: str) -> list[float]:
        cfg = resolve(apply_overrides(raw, ["iterations=2", *overrides], "t"), "t", path=str(path))
        bound = bind(cfg)
        cfg, ds = bound.cfg, bound.dataset
        return fit(cfg, ds.X_train, ds.Y_train).costs

    plain = costs()
    assert plain[0] == pytest.approx(course.L_LAYER_COSTS[0], rel=0, abs=course.COST_ABS)
    assert (
        costs("optimizer=gd", "l2=0", "batch_size=209", "dropout=1.0", "validation_fraction=0")
        == plain
    )
    assert costs("iterations=null", "epochs=2") == plain
    assert load_config(path).optimizer == "gd"
