"""Learning curves (``nnctl.commands.diagnose.curve``): the nested, stratified, seeded shares,
the checks of --sizes, and the reading of curves made to show each verdict."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.commands.diagnose.curve import (
    Point,
    check_sizes,
    nested_subsets,
    parse_sizes,
    read_curve,
)
from nnctl.system import OptionError


def _labels(counts: list[int], seed: int = 0) -> np.ndarray:
    Y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    return np.random.default_rng(seed).permutation(Y).reshape(1, -1)


def test_shares_are_nested_stratified_and_sized_by_class() -> None:
    Y = _labels([300, 60, 40])
    sizes = (0.1, 0.25, 0.5, 1.0)
    subsets = nested_subsets(Y, "classification", sizes, seed=3)
    for small, big in zip(subsets, subsets[1:]):
        assert set(small.tolist()) < set(big.tolist())  # each larger share holds the smaller
    for s, rows in zip(sizes, subsets):
        assert np.all(np.diff(rows) > 0)  # sorted, no repeats
        counts = np.bincount(Y[0, rows], minlength=3)
        assert counts.tolist() == [round(s * 300), round(s * 60), round(s * 40)]
    assert subsets[-1].tolist() == list(range(400))  # the whole split, in its own order


def test_shares_are_seeded() -> None:
    Y = _labels([50, 50])
    a = nested_subsets(Y, "classification", (0.2, 0.5), seed=1)
    b = nested_subsets(Y, "classification", (0.2, 0.5), seed=1)
    c = nested_subsets(Y, "classification", (0.2, 0.5), seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_regression_shares_are_nested_and_uniform() -> None:
    Y = np.random.default_rng(0).normal(size=(2, 97))
    subsets = nested_subsets(Y, "regression", (0.1, 0.3, 1.0), seed=0)
    assert [len(r) for r in subsets] == [round(0.1 * 97), round(0.3 * 97), 97]
    assert set(subsets[0].tolist()) < set(subsets[1].tolist())


def test_a_share_of_fewer_than_two_examples_is_refused() -> None:
    with pytest.raises(OptionError, match=r"0.01 of the 100 training examples is 1; each share"):
        nested_subsets(np.zeros((1, 100)), "regression", (0.01, 1.0), seed=0)


def test_a_share_missing_a_class_is_refused() -> None:
    Y = _labels([200, 4])
    with pytest.raises(
        OptionError, match=r"0.1 of the 204 training examples has no example of class 1"
    ):
        nested_subsets(Y, "classification", (0.1, 1.0), seed=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0.5", "0 is not a share of the training split in (0, 1]"),
        ("0.5,1.5", "1.5 is not a share"),
        ("0.5,0.25", "must increase with no duplicates, got 0.5 then 0.25 (e.g. 0.25,0.5)"),
        ("0.5,0.5", "must increase with no duplicates, got 0.5 then 0.5"),
        ("half", "'half': expected shares separated by commas"),
        ("nan", "nan is not a share"),
    ],
)
def test_bad_sizes(text: str, message: str) -> None:
    with pytest.raises(OptionError, match="^sizes ") as e:
        parse_sizes(text)
    assert message in str(e.value)


def test_good_sizes() -> None:
    assert parse_sizes("0.1,0.25,1") == (0.1, 0.25, 1.0)
    assert check_sizes((1.0,)) == (1.0,)


def _curve(train: list[float], val: list[float]) -> list[Point]:
    shares = np.linspace(0.25, 1.0, len(train))
    return [
        Point(float(s), int(s * 400), f"r{i}", f"runs/r{i}", "complete", t, v)
        for i, (s, t, v) in enumerate(zip(shares, train, val))
    ]


@pytest.mark.parametrize(
    ("train", "val", "verdict", "closing", "falling"),
    [
        ([0.30, 0.31, 0.32, 0.32], [0.32, 0.33, 0.33, 0.33], "high bias", False, False),
        ([0.00, 0.01, 0.02, 0.03], [0.30, 0.20, 0.12, 0.10], "gap closing", True, False),
        ([0.00, 0.01, 0.02, 0.03], [0.30, 0.20, 0.15, 0.08], "gap closing", True, True),
        ([0.05, 0.05, 0.05, 0.03], [0.06, 0.09, 0.09, 0.06], "still falling", False, True),
        ([0.00, 0.00, 0.00, 0.00], [0.12, 0.12, 0.12, 0.12], "variance", False, False),
        ([0.01, 0.01, 0.01, 0.01], [0.02, 0.02, 0.02, 0.02], "converged", False, False),
    ],
)
def test_the_reading(
    train: list[float], val: list[float], verdict: str, closing: bool, falling: bool
) -> None:
    r = read_curve(_curve(train, val), baseline=0.0, threshold=0.02)
    assert (r.verdict, r.gap_closing, r.still_falling) == (verdict, closing, falling)


def test_errors_that_met_high_are_bias_even_if_the_validation_error_still_falls() -> None:
    # a linear model: the training error rises to meet the validation error, both high
    r = read_curve(_curve([0.41, 0.43, 0.44, 0.47], [0.49, 0.47, 0.50, 0.46]), 0.0, 0.02)
    assert (r.verdict, r.gap_closing, r.still_falling) == ("high bias", True, True)


def test_a_gap_that_turns_negative_is_not_closing() -> None:
    r = read_curve(_curve([0.0, 0.0, 0.10, 0.10], [0.01, 0.01, 0.01, 0.04]), 0.0, 0.02)
    assert r.gap_closing is False and r.verdict == "high bias"  # train error 0.1, val below it


def test_a_high_baseline_is_no_bias() -> None:
    r = read_curve(_curve([0.30] * 4, [0.31] * 4), baseline=0.29, threshold=0.02)
    assert r.verdict == "converged"


def test_one_after_another_reports_each_shares_steps_and_any_trainers_points_in_order(
    cli, runs_dir, tmp_path
) -> None:
    import json
    from pathlib import Path

    from helpers import MOONS_SMALL, write_config
    from nnctl.commands.diagnose import (
        ShareRun,
        learning_curve,
        one_after_another,
        plan_curve,
    )
    from nnctl.runs import load_run, read_summary

    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL + "validation_fraction: 0.25\n")
    r = cli("train", cfg, "-q", "--json")
    assert r.exit_code == 0, r.stderr
    parent = load_run(Path(json.loads(r.stdout)["run_dir"]))
    plan = plan_curve(parent, (0.5, 1.0))
    steps: list[tuple[int, int]] = []
    seq = learning_curve(
        plan, runs_dir, trainer=one_after_another(1, on_step=lambda i, n: steps.append((i, n)))
    )
    total = parent.summary.iterations
    assert steps == [(i, total) for i in range(total)] * 2

    # a trainer whose runs come back in another order: the points are still by share
    def backwards(run, shares, where):
        done = list(one_after_another(1)(run, shares, where))
        yield from reversed(done)

    seen: list[int] = []
    curve = learning_curve(
        plan, runs_dir, trainer=backwards, on_point=lambda i, n, p: seen.append(i)
    )
    assert seen == [1, 0] and [p.share for p in curve.points] == [0.5, 1.0]
    for a, b in zip(seq.points, curve.points):
        assert (a.examples, a.train_error, a.val_error) == (b.examples, b.train_error, b.val_error)
        s = read_summary(runs_dir / b.run_id)
        assert (s.extra["learning_curve"], s.extra["share"]) == (parent.run_id, b.share)
    assert ShareRun  # the trainers' item type is public
