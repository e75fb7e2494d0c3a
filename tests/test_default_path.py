"""The plain path (gd, full batch, no l2, no dropout) still gives the course's numbers, and
spelling its defaults out, or a batch at least as large as the data, changes nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import CONFIGS


def costs(cli, *args: str) -> list[str]:
    r = cli("train", CONFIGS / "cat_deep.yaml", "--quiet", "--json", *args)
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    return [row["cost"] for row in csv.DictReader(io.StringIO((run_dir / "history.csv").read_text()))]


def test_cat_deep_reproduces_the_course_curve(cli, runs_dir, cat_dir) -> None:
    c = costs(cli, "--set", "iterations=101")
    # The course notebook (Deep Neural Network - Application) prints these two costs.
    assert float(c[0]) == 0.7717493284237686
    assert float(c[100]) == 0.6720534400822913


def test_spelled_out_defaults_change_nothing(cli, runs_dir, cat_dir) -> None:
    spelled_out = costs(cli, "--set", "iterations=3", "--set", "optimizer=gd", "--set", "l2=0",
                        "--set", "batch_size=209", "--set", "dropout=1.0")
    assert spelled_out == costs(cli, "--set", "iterations=3")


def test_epochs_equal_iterations_on_the_full_batch(cli, runs_dir, cat_dir) -> None:
    assert costs(cli, "--set", "iterations=null", "--set", "epochs=3") == costs(cli, "--set", "iterations=3")
