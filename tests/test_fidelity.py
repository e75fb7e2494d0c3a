"""Fidelity to the course: `nnctl train` on the real cat data reproduces the published cost
curves and accuracies of the course's two models (Deep Learning Specialization, course 1,
week 4, "Deep Neural Network - Application"), and the planar model reaches its ~90%."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import CONFIGS

# The course notebook's printed costs at iterations 0, 100, ..., 2400 and 2499.
COURSE_L_LAYER = [
    0.7717493284237686, 0.6720534400822914, 0.6482632048575212, 0.6115068816101354,
    0.5670473268366111, 0.5401376634547801, 0.5279299569455267, 0.4654773771766851,
    0.36912585249592794, 0.39174697434805344, 0.3151869888600617, 0.2726998441789385,
    0.23741853400268137, 0.19960120532208644, 0.18926300388463305, 0.16118854665827748,
    0.14821389662363316, 0.13777487812972944, 0.1297401754919012, 0.12122535068005211,
    0.11382060668633713, 0.10783928526254133, 0.10285466069352679, 0.10089745445261786,
    0.09287821526472398, 0.088439943441702,
]
COURSE_2_LAYER = [
    0.6930497356599888, 0.6464320953428849, 0.6325140647912677, 0.6015024920354665,
    0.5601966311605747, 0.5158304772764729, 0.4754901313943325, 0.43391631512257495,
    0.4007977536203887, 0.3580705011323798, 0.3394281538366412, 0.30527536361962654,
    0.2749137728213016, 0.2468176821061485, 0.19850735037466108, 0.17448318112556627,
    0.1708076297809599, 0.11306524562164721, 0.09629426845937152, 0.08342617959726863,
    0.07439078704319081, 0.06630748132267933, 0.05919329501038171, 0.05336140348560558,
    0.04855478562877019, 0.04421498215868956,
]


def _train(cli, config: Path) -> tuple[dict, list[float]]:
    r = cli("train", config, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    with open(Path(out["run_dir"]) / "history.csv") as f:
        costs = [float(row["cost"]) for row in csv.DictReader(f)]
    return out, costs


@pytest.mark.realdata
@pytest.mark.parametrize(
    "config,course,train_acc,test_acc",
    [
        ("cat_deep.yaml", COURSE_L_LAYER, 0.9856459330143541, 0.8),
        ("cat_2layer.yaml", COURSE_2_LAYER, 1.0, 0.72),
    ],
)
def test_cat_models_reproduce_the_course(cli, runs_dir, cat_dir, config, course, train_acc, test_acc) -> None:
    out, costs = _train(cli, CONFIGS / config)
    assert len(costs) == 2500
    ours = [costs[i] for i in range(0, 2500, 100)] + [costs[2499]]
    # The issue asks for 6 digits; a faithful float64 implementation matches far closer.
    assert ours == pytest.approx(course, rel=1e-7, abs=0)
    assert out["final_cost"] == costs[-1]
    assert out["train_accuracy"] == pytest.approx(train_acc, abs=1e-12)
    assert out["test_accuracy"] == pytest.approx(test_acc, abs=1e-12)


@pytest.mark.realdata
def test_cat_iteration_zero_costs(cli, runs_dir, cat_dir) -> None:
    for config, cost0 in (("cat_deep.yaml", 0.771749), ("cat_2layer.yaml", 0.693050)):
        r = cli("train", CONFIGS / config, "--set", "iterations=1", "--json", "--quiet")
        assert r.exit_code == 0, r.stderr
        assert round(json.loads(r.stdout)["final_cost"], 6) == cost0


def test_planar_reaches_about_90_percent(cli, runs_dir) -> None:
    out, costs = _train(cli, CONFIGS / "planar.yaml")
    assert len(costs) == 10000 and costs[-1] < costs[0]
    assert out["train_accuracy"] >= 0.88 and out["test_accuracy"] >= 0.88
