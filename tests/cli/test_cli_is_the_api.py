"""The CLI is a shell over ``nnctl.api`` (docs/design.md): each routed command gives, on the same
machine, what its API function gives, bit for bit: ``nnctl train --set`` vs ``nnctl.train``,
``--resume --more`` vs ``Run.resume``, ``predict --json`` vs ``Run.predictions``, ``evaluate
--json`` vs ``Run.evaluate``, ``runs list --json`` vs ``list_runs``, ``export`` vs
``Run.export``, ``report`` vs ``write_report``; and what the CLI needed from the API (its
display, the JSON record, interruptions, skipped runs) behaves as the CLI shows it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnctl
from helpers import MOONS_SMALL, write_config
from nnctl.api import TrainDisplay, select_runs, write_report
from nnctl.api.scoring import file_predictions
from nnctl.runs import CHECKPOINT_FILE, PARAMS_FILE, read_params

# minibatches and epochs: the run keeps a checkpoint, so it can be interrupted and resumed
EPOCHS = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.1
batch_size: 50
epochs: 12
validation_fraction: 0.2
print_every: 10
"""
SETS = (
    "learning_rate=0.05",
    "layer_dims=[auto, 5, 3, 1]",
    "activations=[relu, tanh, sigmoid]",
    "optimizer=adam",
    "iterations=1e2",
)
# the same overrides as Python values; "1e2" is a YAML string that --set turns into a number
# the way the config's validation does, so both spellings must give the same run
KEYWORDS = {
    "learning_rate": 0.05,
    "layer_dims": ["auto", 5, 3, 1],
    "activations": ["relu", "tanh", "sigmoid"],
    "optimizer": "adam",
}


def _bits(run_dir: Path) -> dict[str, bytes]:
    return {
        k: v.dtype.str.encode() + v.tobytes() for k, v in read_params(run_dir / PARAMS_FILE).items()
    }


def _cli_json(cli, *args: object, code: int = 0) -> dict:
    r = cli(*args, "--json")
    assert r.exit_code == code, r.stderr
    return json.loads(r.stdout)


def _without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


@pytest.fixture
def moons(tmp_path: Path) -> Path:
    return write_config(tmp_path / "moons.yaml", MOONS_SMALL)


@pytest.fixture
def epochs(tmp_path: Path) -> Path:
    return write_config(tmp_path / "epochs.yaml", EPOCHS)


def test_train_with_set_and_threads_is_nnctl_train_bit_for_bit(cli, runs_dir, moons) -> None:
    args = [a for s in SETS for a in ("--set", s)]
    told = _cli_json(cli, "train", moons, *args, "--threads", "1", "--quiet")
    by_cli = nnctl.load_run(told["run_id"])
    overrides = {**KEYWORDS, "iterations": "1e2"}
    run = nnctl.train(moons, runs_dir=runs_dir, threads=1, **overrides)
    assert run.id != by_cli.id and run.summary.iterations_done == 100
    assert _bits(run.dir) == _bits(by_cli.dir)
    assert (run.dir / "history.csv").read_bytes() == (by_cli.dir / "history.csv").read_bytes()
    assert run.config == by_cli.config and run.config["layer_dims"] == [2, 5, 3, 1]
    assert (
        run.summary.threads == by_cli.summary.threads and run.summary.threads["blas_threads"] == 1
    )
    # the JSON record is the API's, field for field (but the run's own id, directory and time)
    assert told == by_cli.record()
    assert list(told) == list(run.record())
    assert _without(told, "run_id", "run_dir", "seconds") == _without(
        run.record(), "run_id", "run_dir", "seconds"
    )


def test_a_bad_set_is_the_apis_error_in_one_line(cli, runs_dir, moons) -> None:
    r = cli("train", moons, "--set", "learning_rat=0.1")
    with pytest.raises(nnctl.ConfigError) as exc:
        nnctl.train(moons, runs_dir=runs_dir, learning_rat=0.1)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"error: {exc.value}\n"
    assert "did you mean" in r.stderr and not runs_dir.exists()


@pytest.mark.parametrize(
    "args, length", [(("--more", "4"), {"more": 4}), (("--set", "epochs=15"), {"epochs": 15})]
)
def test_resume_further_is_run_resume_bit_for_bit(
    cli, runs_dir, tmp_path, epochs, args, length
) -> None:
    first = _cli_json(cli, "train", epochs, "--quiet")
    other = tmp_path / "other"
    shutil.copytree(runs_dir, other)
    told = _cli_json(cli, "train", "--resume", first["run_id"], *args, "--quiet")
    by_api = nnctl.load_run(first["run_id"], runs_dir=other).resume(**length)
    assert told["iterations"] > first["iterations"] and told["status"] == "complete"
    assert _bits(by_api.dir) == _bits(Path(told["run_dir"]))
    assert _without(told, "run_dir", "seconds") == _without(by_api.record(), "run_dir", "seconds")


class Recording:
    """A TrainDisplay that keeps what it was shown."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, run) -> None:
        self.events.append(("start", run.run_id, run.total_iterations, run.print_every))

    def iteration(self, i: int, cost: float) -> None:
        self.events.append(("iteration", i, cost))

    def stop(self) -> None:
        self.events.append(("stop",))


def test_a_display_sees_the_start_every_step_and_the_stop(runs_dir, moons) -> None:
    shown = Recording()
    assert isinstance(shown, TrainDisplay)
    run = nnctl.train(moons, runs_dir=runs_dir, iterations=25, progress=shown)
    assert shown.events[0] == ("start", run.id, 25, 100) and shown.events[-1] == ("stop",)
    steps = shown.events[1:-1]
    assert [e[1] for e in steps] == list(range(25))
    assert [e[2] for e in steps] == run.history.costs.tolist()
    with pytest.raises(TypeError, match="progress: expected True, False or a display"):
        nnctl.train(moons, runs_dir=runs_dir, progress="yes")
    from nnctl.api.progress import RichBar
    from nnctl.api.session import as_display

    assert as_display(shown) is shown and as_display(0) is None and as_display(None) is None
    assert isinstance(as_display(np.True_), RichBar) and as_display(np.False_) is None


def _signal_at(monkeypatch, step: int, signum: int = signal.SIGINT) -> None:
    """nnctl train's display sends the process ``signum`` after step ``step`` (-1: when the
    run starts, outside the training loop)."""
    from nnctl.cli.display import _TrainDisplay

    real_start, real_iteration = _TrainDisplay.start, _TrainDisplay.iteration

    def start(self, run) -> None:
        real_start(self, run)
        if step == -1:
            os.kill(os.getpid(), signum)

    def iteration(self, i: int, cost: float) -> None:
        real_iteration(self, i, cost)
        if i == step:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(_TrainDisplay, "start", start)
    monkeypatch.setattr(_TrainDisplay, "iteration", iteration)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_train_resumable_and_resume_is_the_whole_run(
    cli, runs_dir, tmp_path, epochs, monkeypatch, signum, code
) -> None:
    _signal_at(monkeypatch, 7, signum)
    r = cli("train", epochs)
    assert r.exit_code == code, r.stderr
    run_id = r.stdout.strip()
    run = nnctl.load_run(run_id)
    assert run.status == "interrupted" and run.resumable
    assert run.summary.iterations_done == 8 and (run.dir / CHECKPOINT_FILE).is_file()
    assert "status: interrupted" in r.stderr
    assert r.stderr.endswith(
        f"{run.summary.message}; run marked interrupted\n"
        f"continue from its last checkpoint with: nnctl train --resume {run_id}\n"
    )
    told = _cli_json(cli, "train", "--resume", run_id, "--quiet")
    whole = nnctl.train(epochs, runs_dir=tmp_path / "whole")
    assert told["status"] == "complete" and _bits(whole.dir) == _bits(run.dir)


def test_a_signal_outside_the_loop_is_one_line_as_before(
    cli, runs_dir, epochs, monkeypatch
) -> None:
    _signal_at(monkeypatch, -1)
    r = cli("train", epochs)
    assert r.exit_code == 130 and r.stdout == ""  # no run id: the run did not make a step
    assert r.stderr.endswith("\ninterrupted\n") and "run marked" not in r.stderr
    (run_dir,) = runs_dir.iterdir()
    assert nnctl.load_run(run_dir).status == "interrupted"


class Signalling:
    """A display that sends SIGINT when the run starts (outside the loop) or after step 3."""

    def __init__(self, at_start: bool) -> None:
        self.at_start = at_start

    def start(self, run) -> None:
        if self.at_start:
            os.kill(os.getpid(), signal.SIGINT)

    def iteration(self, i: int, cost: float) -> None:
        if i == 3 and not self.at_start:
            os.kill(os.getpid(), signal.SIGINT)

    def stop(self) -> None:
        pass


def test_the_api_says_whether_an_interruption_was_clean(runs_dir, epochs) -> None:
    with pytest.raises(nnctl.TrainingInterrupted) as clean:
        nnctl.train(epochs, runs_dir=runs_dir, progress=Signalling(at_start=False))
    with pytest.raises(nnctl.TrainingInterrupted) as cut:
        nnctl.train(epochs, runs_dir=runs_dir, progress=Signalling(at_start=True))
    assert clean.value.clean and clean.value.run.summary.iterations_done == 4
    assert clean.value.run.resumable
    assert not cut.value.clean and cut.value.run.status == "interrupted"
    assert not cut.value.run.resumable and str(cut.value).endswith("; run marked interrupted")


def test_diverged_prints_the_record_then_the_error(cli, runs_dir, moons) -> None:
    r = cli("train", moons, "--set", "learning_rate=1e300", "--json", "--quiet")
    with pytest.raises(nnctl.TrainingDiverged) as exc:
        nnctl.train(moons, runs_dir=runs_dir, learning_rate=1e300)
    told = json.loads(r.stdout)
    assert r.exit_code == 1 and told["status"] == "diverged"
    assert r.stderr == f"error: {exc.value}\n"
    assert _without(told, "run_id", "run_dir", "seconds") == _without(
        exc.value.run.record(), "run_id", "run_dir", "seconds"
    )


def test_warnings_are_the_apis_printed_once(cli, runs_dir, moons) -> None:
    r = cli("train", moons, "--set", "init=zeros", "--set", "iterations=5")
    with pytest.warns(nnctl.NnctlWarning) as caught:
        nnctl.train(moons, runs_dir=runs_dir, init="zeros", iterations=5)
    messages = [str(w.message) for w in caught]
    assert messages, "the config should warn"
    lines = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert lines == [f"warning: {m}" for m in messages]
    quiet = cli("train", moons, "--set", "init=zeros", "--set", "iterations=5", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.fixture
def trained(cli, runs_dir, epochs) -> nnctl.Run:
    return nnctl.load_run(_cli_json(cli, "train", epochs, "--quiet")["run_id"])


def test_predict_json_is_run_predictions(cli, trained, tmp_path) -> None:
    X = np.random.RandomState(0).randn(9, 2)
    np.save(tmp_path / "x.npy", X)
    told = _cli_json(cli, "predict", trained.id, "x.npy")
    assert told == trained.predictions("x.npy")  # the cli fixture's cwd is tmp_path
    assert [r["class"] for r in told] == trained.predict(X).tolist()
    assert [[r["probabilities"][c] for c in trained.classes] for r in told] == (
        trained.predict_proba(X).tolist()
    )


def test_predict_reports_each_failed_input_as_the_api_does(cli, trained, tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    r = cli("predict", trained.id, "x.npy", "missing.npy", "--json")
    outcome = file_predictions(trained.loaded(), [Path("x.npy"), Path("missing.npy")], None, None)
    assert r.exit_code == 1 and json.loads(r.stdout) == outcome.results
    assert outcome.failures == ["missing.npy: no such file"]
    assert r.stderr.splitlines() == [
        "error: missing.npy: no such file",
        "1 input(s) failed, 2 prediction(s) made",
    ]
    with pytest.raises(nnctl.DataError, match="^missing.npy: no such file$"):
        trained.predictions(["x.npy", "missing.npy"])


@pytest.mark.parametrize("args, kwargs", [((), {}), (("--split", "train"), {"split": "train"})])
def test_evaluate_json_is_run_evaluate(cli, trained, args, kwargs) -> None:
    told = _cli_json(cli, "evaluate", trained.id, *args, "--threshold", "0.4")
    ev = trained.evaluate(threshold=0.4, **kwargs)
    assert told == {"run_id": trained.id, **ev.to_dict()}


def test_evaluate_tune_threshold_is_run_tune_threshold(cli, trained) -> None:
    r = cli("evaluate", trained.id, "--tune-threshold", "recall=0.9")
    threshold, ev = trained.tune_threshold("recall=0.9")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith(f"threshold {threshold:.10g} (recall=0.9 on the validation split)")
    told = _cli_json(cli, "evaluate", trained.id, "--tune-threshold", "recall=0.9")
    assert told == {"run_id": trained.id, "tuned_for": "recall=0.9", **ev.to_dict()}
    with pytest.raises(nnctl.OptionError) as exc:
        trained.tune_threshold("recall=2")
    bad = cli("evaluate", trained.id, "--tune-threshold", "recall=2")
    assert bad.exit_code == 2 and bad.stderr == f"error: --tune-threshold {exc.value.detail}\n"


def _three_runs(cli, moons: Path) -> None:
    for lr in ("0.1", "0.5", "1.0"):
        r = cli(
            "train",
            moons,
            "--set",
            f"learning_rate={lr}",
            "--set",
            f"name=lr-{lr}",
            "--set",
            "iterations=20",
            "--quiet",
        )
        assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((), {}),
        (("--sort", "-learning_rate", "--limit", "2"), {"sort": "-learning_rate", "limit": 2}),
        (
            ("--filter", "learning_rate>0.2", "--limit", "1"),
            {"filter": ["learning_rate>0.2"], "limit": 1},
        ),
        (
            ("--columns", "name,learning_rate,layer_dims,id", "--filter", "name=lr-*"),
            {"columns": "name,learning_rate,layer_dims,id", "filter": "name=lr-*"},
        ),
    ],
)
def test_runs_list_json_is_list_runs(cli, runs_dir, moons, args, kwargs) -> None:
    _three_runs(cli, moons)
    told = _cli_json(cli, "runs", "list", *args)
    assert told == nnctl.list_runs(**kwargs, as_frame=False) and told


def test_runs_list_table_is_drawn_from_the_selection(cli, runs_dir, moons) -> None:
    _three_runs(cli, moons)
    dead = runs_dir / "20000101-000000-000-dead"  # a run directory that cannot be read
    dead.mkdir()
    (dead / "summary.json").write_text("{")
    r = cli("runs", "list", "--sort", "learning_rate", "--columns", "name,iterations")
    with pytest.warns(nnctl.NnctlWarning) as caught:
        chosen = select_runs(sort="learning_rate", columns="name,iterations")
    (skipped,) = [str(w.message) for w in caught]
    assert skipped.startswith("skipping ") and r.stderr == f"warning: {skipped}\n"
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["name", "iterations"]
    assert [line.split() for line in lines[1:]] == [
        [x["name"], str(x["iterations"])] for x in chosen.records()
    ]
    assert [x["name"] for x in chosen.records()] == ["lr-0.1", "lr-0.5", "lr-1.0"]


def test_export_is_run_export_byte_for_byte(cli, trained, tmp_path) -> None:
    r = cli("export", trained.id, "-f", "npz", "-o", "cli.npz")
    written = trained.export(tmp_path / "api.npz", format="npz")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["cli.npz", "cli.json"]
    assert [p.name for p in written] == ["api.npz", "api.json"]
    assert (tmp_path / "cli.npz").read_bytes() == written[0].read_bytes()
    assert json.loads((tmp_path / "cli.json").read_text()) == json.loads(written[1].read_text())


def test_report_is_write_report(cli, runs_dir, moons, tmp_path) -> None:
    _three_runs(cli, moons)
    first, second = (x["id"] for x in nnctl.list_runs(limit=2, as_frame=False))
    r = cli("report", first, second, first, "-o", "cli.html")
    info = write_report([first, nnctl.load_run(second), first], tmp_path / "api.html")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "cli.html\n" and info.runs == 2
    assert r.stderr.startswith("wrote cli.html: 2 run(s), ")
    page = (tmp_path / "cli.html").read_text()
    assert (
        first in page and second in page and info.path.read_text().count(first) == page.count(first)
    )
    # -o is checked before the runs are looked for, by both
    (tmp_path / "dir.html").mkdir()
    bad = cli("report", "no-such-run", "-o", "dir.html")
    with pytest.raises(nnctl.UsageError) as exc:
        write_report(["no-such-run"], "dir.html")
    assert bad.exit_code == 2 and bad.stderr == f"error: {exc.value}\n"


def test_train_report_writes_the_apis_report(cli, runs_dir, moons) -> None:
    r = cli("train", moons, "--set", "iterations=10", "--report")
    run = nnctl.load_run(r.stdout.strip())
    assert r.exit_code == 0, r.stderr
    assert f"report: {run.dir / 'report.html'} (" in r.stderr
    assert (run.dir / "report.html").stat().st_size > 1000


def test_no_python_warning_leaks_from_the_cli(cli, runs_dir, moons) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an NnctlWarning that escaped would raise here
        r = cli("train", moons, "--set", "init=zeros", "--set", "iterations=5")
    assert r.exit_code == 0 and "warning: " in r.stderr
