"""`nnctl runs list|show|compare|rm` and `nnctl plot` on small real runs (in-process CLI)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import write_config
from helpers.proc import TINY, nnctl

RATES = (0.05, 0.5, 2.0)


@pytest.fixture
def three_runs(cli, runs_dir: Path, tmp_path: Path) -> list[Path]:
    """Three tiny moons runs, learning rates 0.05, 0.5 and 2.0, oldest first."""
    cfg = write_config(tmp_path / "tiny.yaml", TINY)
    dirs = []
    for lr in RATES:
        r = cli(
            "train",
            cfg,
            "--set",
            f"learning_rate={lr}",
            "--set",
            f"name=lr-{lr}",
            "--quiet",
            "--json",
        )
        assert r.exit_code == 0, r.stderr
        dirs.append(Path(json.loads(r.stdout)["run_dir"]))
    return dirs


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def list_json(cli, *args: str) -> list[dict]:
    r = cli("runs", "list", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_list_rows_carry_the_run_files_values(cli, three_runs: list[Path]) -> None:
    rows = list_json(cli)
    assert [row["id"] for row in rows] == [d.name for d in three_runs]  # oldest first
    for row, d, lr in zip(rows, three_runs, RATES):
        s = summary(d)
        assert row["run_dir"] == str(d)
        assert row["learning_rate"] == lr
        assert (row["name"], row["status"], row["created"]) == (
            f"lr-{lr}",
            "complete",
            s["created"],
        )
        assert (row["iterations"], row["iterations_done"]) == (200, 200)
        for k in ("final_cost", "train_accuracy", "test_accuracy", "seconds"):
            assert row[k] == s[k]


def test_list_table_has_one_row_per_run(cli, three_runs: list[Path]) -> None:
    r = cli("runs", "list")
    assert r.exit_code == 0 and r.stderr == ""
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["id", "name", "status", "created"]
    assert [line.split()[0] for line in lines[1:]] == [d.name for d in three_runs]
    s = summary(three_runs[1])
    assert f"{s['final_cost']:.6f}" in lines[2] and f"{s['test_accuracy']:.4f}" in lines[2]


def test_sort_descending_and_ascending_with_limit(cli, three_runs: list[Path]) -> None:
    by_cost = sorted(three_runs, key=lambda d: summary(d)["final_cost"])
    assert [r["id"] for r in list_json(cli, "--sort", "final_cost")] == [d.name for d in by_cost]
    assert [r["id"] for r in list_json(cli, "--sort", "-final_cost")] == [
        d.name for d in by_cost[::-1]
    ]
    assert [
        r["learning_rate"] for r in list_json(cli, "--sort", "-learning_rate", "--limit", "2")
    ] == [2.0, 0.5]
    # Without --sort, --limit keeps the newest runs.
    assert [r["id"] for r in list_json(cli, "--limit", "2")] == [d.name for d in three_runs[1:]]


def test_filters(cli, three_runs: list[Path]) -> None:
    assert [r["learning_rate"] for r in list_json(cli, "--filter", "learning_rate=0.5")] == [0.5]
    assert [r["name"] for r in list_json(cli, "--filter", "name=lr-0.0*")] == ["lr-0.05"]
    assert list_json(cli, "--filter", "status=diverged") == []
    assert len(list_json(cli, "--filter", "dataset.synthetic=moons")) == 3  # any config key
    median = sorted(summary(d)["final_cost"] for d in three_runs)[1]
    rows = list_json(cli, "--filter", f"final_cost<={median!r}", "--filter", "learning_rate!=2.0")
    expected = [
        d.name
        for d, lr in zip(three_runs, RATES)
        if summary(d)["final_cost"] <= median and lr != 2.0
    ]
    assert [r["id"] for r in rows] == expected and 1 <= len(expected) <= 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--sort", "-test_acuracy"),
            "--sort test_acuracy: unknown column (did you mean test_accuracy?)",
        ),
        (("--filter", "learning_rate"), "--filter 'learning_rate': expected KEY=VALUE"),
        (("--filter", "stauts=complete"), "--filter stauts: unknown column (did you mean status?)"),
        (("--filter", "final_cost>abc"), "> needs a number"),
    ],
)
def test_bad_list_options_exit_2(cli, three_runs: list[Path], args: tuple, message: str) -> None:
    r = cli("runs", "list", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_list_of_an_empty_runs_dir(cli, runs_dir: Path) -> None:
    r = cli("runs", "list", "--json")
    assert (r.exit_code, r.stdout) == (0, "[]\n")
    r = cli("runs", "list")
    assert r.exit_code == 0 and r.stdout == "" and "no runs in" in r.stderr


def test_show_prints_config_summary_and_curve(cli, three_runs: list[Path]) -> None:
    d = three_runs[0]
    r = cli("runs", "show", d.name[:-2])  # an id prefix is enough
    assert r.exit_code == 0, r.stderr
    assert (d / "config.yaml").read_text().strip() in r.stdout
    assert f"test_accuracy    {summary(d)['test_accuracy']}" in r.stdout
    curve = r.stdout.split("\ncost\n")[1].splitlines()
    assert len(curve) == 12  # 10 rows, the axis, the iteration labels
    first_cost = float((d / "history.csv").read_text().splitlines()[1].split(",")[1])
    # lr 0.05 decreases the cost steadily, so the highest column is the first.
    from nnctl.cli.textplot import BLOCKS

    top = curve[0].split("┤")[1]
    assert top[0] != " " and BLOCKS.index(top[0]) == max(map(BLOCKS.index, top))
    # The top label is the true highest cost (iteration 0's), not the first bin's mean.
    assert abs(float(curve[0].split()[0]) - first_cost) < 5e-4 * first_cost
    assert curve[-1].split()[:2] == ["0", "199"]

    j = cli("runs", "show", str(d), "--json")
    data = json.loads(j.stdout)
    assert data["summary"] == summary(d)
    assert (
        data["history"]["iteration"] == list(range(200))
        and data["history"]["cost"][0] == first_cost
    )


def test_compare_shows_metrics_and_only_differing_keys(cli, three_runs: list[Path]) -> None:
    a, b = three_runs[0], three_runs[2]
    r = cli("runs", "compare", a.name, b.name, "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["runs"] == [a.name, b.name]
    assert data["config_differences"] == {
        "name": ["lr-0.05", "lr-2.0"],
        "learning_rate": [0.05, 2.0],
    }
    assert data["metrics"]["test_accuracy"] == [
        summary(a)["test_accuracy"],
        summary(b)["test_accuracy"],
    ]

    table = cli("runs", "compare", a.name, b.name)
    rows = {
        line.split()[0]: line.split()[1:] for line in table.stdout.splitlines()[2:] if line.strip()
    }
    assert rows["learning_rate"] == ["0.05", "2"]
    assert "layer_dims" not in rows and "iterations" not in rows

    one = cli("runs", "compare", a.name)
    assert one.exit_code == 2 and "at least two runs" in one.stderr


def test_rm_asks_and_deletes(cli, three_runs: list[Path], runs_dir: Path, tmp_path: Path) -> None:
    a, b, c = three_runs
    # A real process reading the answer from stdin (CliRunner would echo it onto stdout).
    r = nnctl("runs", "rm", a.name, input="n\n", runs_dir=runs_dir, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == "" and a.is_dir()
    assert "Delete 1 run(s)?" in r.stderr and "nothing deleted" in r.stderr
    assert str(a) in r.stderr and "(lr-0.05, complete)" in r.stderr

    r = nnctl("runs", "rm", a.name, input="y\n", runs_dir=runs_dir, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == f"{a.name}\n" and not a.exists()

    r = cli("runs", "rm", "--yes", b.name, str(c))
    assert r.exit_code == 0 and r.stdout.split() == [b.name, c.name]
    assert not b.exists() and not c.exists()
    assert list(a.parent.iterdir()) == []  # no leftovers (no hidden half-deleted dirs)


def test_rm_refuses_what_is_not_a_run(cli, three_runs: list[Path], tmp_path: Path) -> None:
    plain = tmp_path / "photos"
    plain.mkdir()
    r = cli("runs", "rm", "--yes", str(plain))
    assert r.exit_code == 2 and "not a run directory" in r.stderr and plain.is_dir()

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "summary.json").write_text('{"run_id": "something-else"}')
    r = cli("runs", "rm", "--yes", str(fake), three_runs[0].name)
    assert r.exit_code == 2 and "refusing to delete" in r.stderr
    assert fake.is_dir() and three_runs[0].is_dir()  # nothing deleted when any argument is bad


def test_plot_writes_a_png(cli, three_runs: list[Path], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the 'plot' extra) is not installed")
    from PIL import Image

    out = tmp_path / "curves.png"
    r = cli("plot", *[d.name for d in three_runs], "-o", out, "--log")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"{out}\n"
    with Image.open(out) as im:
        # 8x5 inches at 100 dpi, cropped tight and grown downwards by the legend below the axes
        w, h = im.size
        assert im.format == "PNG" and 600 <= w <= 800 and 450 <= h <= 700
        # Not blank: the curves and labels put many distinct colours on the white figure.
        assert len(im.convert("RGB").getcolors(maxcolors=100000)) > 50


def test_plot_labels_name_the_differing_keys(three_runs: list[Path]) -> None:
    from nnctl.runs import read_run, run_labels

    assert run_labels([read_run(d) for d in three_runs]) == [
        "lr-0.05 learning_rate=0.05",
        "lr-0.5 learning_rate=0.5",
        "lr-2.0 learning_rate=2",
    ]


def test_plot_refuses_unknown_formats(cli, three_runs: list[Path], tmp_path: Path) -> None:
    r = cli("plot", three_runs[0].name, "-o", tmp_path / "c.jpg")
    assert r.exit_code == 2 and ".png, .pdf, .svg" in r.stderr
    assert not (tmp_path / "c.jpg").exists()


def test_plot_without_matplotlib_says_how_to_install(
    cli, three_runs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    r = cli("plot", three_runs[0].name, "-o", tmp_path / "c.png")
    assert r.exit_code == 2
    assert "pip install 'nnctl[plot]'" in r.stderr and r.stdout == ""
    assert not (tmp_path / "c.png").exists()


def test_text_curve_of_a_linear_ramp() -> None:
    from nnctl.cli.textplot import curve_lines

    # Eight evenly spaced costs on one row map onto the eight block heights, highest first.
    lines = curve_lines(list(range(8)), [8.0, 7, 6, 5, 4, 3, 2, 1], height=1)
    assert lines[0] == "8 ┤█▇▆▅▄▃▂▁"
    # More points than columns: each column is the mean of its bin (here 2 points each).
    lines = curve_lines(list(range(4)), [4.0, 4.0, 2.0, 2.0], width=2, height=1)
    assert lines[0].endswith("┤█▁")


def test_list_skips_a_damaged_run_with_a_warning(cli, three_runs: list[Path]) -> None:
    broken = three_runs[0].parent / "20000101-000000-000-dead"
    broken.mkdir()
    (broken / "summary.json").write_text('{"run_id": ')
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0
    assert [row["id"] for row in json.loads(r.stdout)] == [d.name for d in three_runs]
    assert "warning: skipping" in r.stderr and "20000101-000000-000-dead" in r.stderr


def test_show_of_a_run_without_history(cli, three_runs: list[Path]) -> None:
    d = three_runs[0]
    (d / "history.csv").unlink()  # e.g. a run that is still starting
    r = cli("runs", "show", d.name)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.rstrip().endswith("(no iterations recorded)")


def test_summary_that_is_not_an_object_is_a_one_line_error(
    cli, runs_dir: Path, moons_run: Path
) -> None:
    (moons_run / "summary.json").write_text("[1, 2]")
    for args in (("runs", "show", moons_run.name), ("predict", moons_run.name, "x.csv")):
        r = cli(*args)
        assert r.exit_code == 2, args
        assert (
            r.stderr.strip()
            == f"error: {moons_run / 'summary.json'}: damaged (expected a JSON object)"
        )
    r = cli("runs", "list", "--json")  # listed runs skip it with a warning instead of dying
    assert r.exit_code == 0 and json.loads(r.stdout) == [] and "damaged" in r.stderr


def test_filter_on_an_empty_runs_dir_is_an_empty_list(cli, runs_dir: Path) -> None:
    r = cli("runs", "list", "--filter", "dataset.m=400", "--sort", "-test_accuracy", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_runs_show_json_with_a_damaged_config_is_one_line(
    cli, runs_dir: Path, moons_run: Path
) -> None:
    (moons_run / "config.yaml").write_text("layer_dims: [\n")
    r = cli("runs", "show", moons_run.name, "--json")
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: {moons_run / 'config.yaml'}: line ")
