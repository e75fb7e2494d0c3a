"""``nnctl.list_runs``: the rows of ``nnctl runs list --format json`` with its filters, sort,
limit and columns; a DataFrame when pandas is there, else a list of dicts."""

from __future__ import annotations

import json
import sys
import types

import pytest

import nnctl


@pytest.fixture
def three_runs(moons_cfg, runs_dir) -> list[nnctl.Run]:
    return [
        nnctl.train(moons_cfg, name=f"lr-{lr}", learning_rate=lr, iterations=30)
        for lr in (0.05, 0.5, 1.0)
    ]


def test_the_rows_of_runs_list_json(cli, three_runs, runs_dir) -> None:
    r = cli("runs", "list", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = nnctl.list_runs(as_frame=False)
    assert rows == json.loads(r.stdout)
    assert [row["id"] for row in rows] == [run.id for run in three_runs]  # oldest first
    assert nnctl.list_runs(runs_dir=runs_dir, as_frame=False) == rows


def test_filters_sort_limit_and_columns_as_runs_list(cli, three_runs) -> None:
    args = ["--filter", "learning_rate>=0.5", "--sort", "-learning_rate", "--columns", "id,name"]
    r = cli("runs", "list", *args, "--format", "json")
    rows = nnctl.list_runs(
        "learning_rate>=0.5", "-learning_rate", columns=["id", "name"], as_frame=False
    )
    assert rows == json.loads(r.stdout)
    assert [row["name"] for row in rows] == ["lr-1.0", "lr-0.5"]
    both = nnctl.list_runs(["name=lr-*", "learning_rate<1"], columns="name", as_frame=False)
    assert both == [{"name": "lr-0.05"}, {"name": "lr-0.5"}]
    assert [x["name"] for x in nnctl.list_runs(limit=1, as_frame=False)] == ["lr-1.0"]
    assert [x["name"] for x in nnctl.list_runs(sort="learning_rate", limit=2, as_frame=False)] == [
        "lr-0.05",
        "lr-0.5",
    ]
    assert nnctl.list_runs("created<1d", as_frame=False) == []  # older than a day


def test_bad_filters_get_the_messages_of_runs_list(cli, three_runs) -> None:
    for args, spec in (
        ({"filter": "learnin_rate=1"}, ["--filter", "learnin_rate=1"]),
        ({"filter": "oops"}, ["--filter", "oops"]),
        ({"sort": "-nme"}, ["--sort", "-nme"]),
        ({"columns": "id,nmae"}, ["--columns", "id,nmae"]),
    ):
        r = cli("runs", "list", *spec)
        assert r.exit_code == 2
        with pytest.raises(nnctl.UsageError) as exc:
            nnctl.list_runs(**args)
        assert r.stderr == f"error: {exc.value}\n"


def test_a_dataframe_when_pandas_is_installed(three_runs, monkeypatch) -> None:
    made = []
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda rows, columns=None: made.append((rows, columns)) or "frame"
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert nnctl.list_runs(columns="id,name") == "frame"
    assert made[0][1] == ["id", "name"] and len(made[0][0]) == 3
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    assert isinstance(nnctl.list_runs(), list)
    with pytest.raises(ImportError, match="as_frame=True needs pandas"):
        nnctl.list_runs(as_frame=True)


def test_an_unreadable_run_is_skipped_with_a_warning(three_runs) -> None:
    (three_runs[0].dir / "summary.json").write_text("{")
    with pytest.warns(nnctl.NnctlWarning, match="skipping .*summary.json"):
        rows = nnctl.list_runs(as_frame=False)
    assert len(rows) == 2


def test_no_runs_is_an_empty_list(tmp_path) -> None:
    assert nnctl.list_runs(runs_dir=tmp_path / "none", as_frame=False) == []
