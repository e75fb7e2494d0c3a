"""The command line's surface: help screens (examples, metavars, -h, --version), one-line usage
errors, shell completion, runs tables (columns, formats, date filters, rm --filter --dry-run),
config schema and --json, the model summary, the narrow progress line, and predict's inputs."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import MOONS_SMALL, write_config

COMMANDS = [
    ["train"],
    ["gradcheck"],
    ["plot"],
    ["predict"],
    ["evaluate"],
    ["diagnose"],
    ["report"],
    ["export"],
    ["verify"],
    ["config", "show"],
    ["config", "check"],
    ["config", "schema"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "compare"],
    ["runs", "rm"],
    ["data", "inspect"],
    ["data", "import"],
    ["sweep", "run"],
    ["sweep", "check"],
    ["sweep", "show"],
    ["sweep", "resume"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_help_screen_has_examples_and_plain_metavars(cli, cmd: list[str]) -> None:
    r = cli(*cmd, "-h")
    assert r.exit_code == 0
    usage = r.stdout.splitlines()[0]
    assert usage.startswith(f"Usage: nnctl {' '.join(cmd)} ") and "{" not in usage
    assert not re.search(r"<(int|float|text|path|integer)>", r.stdout)  # click's type names
    examples = r.stdout.split("\nExamples:\n")[1].splitlines()
    assert 1 <= len(examples) <= 3 and all(
        line.startswith("  nnctl ") or "| nnctl" in line for line in examples
    )


def test_help_snapshots(cli) -> None:
    assert (
        cli("predict", "--help").stdout.splitlines()[0]
        == "Usage: nnctl predict [OPTIONS] RUN INPUT..."
    )
    assert cli("train", "-h").stdout.splitlines()[0] == "Usage: nnctl train [OPTIONS] [CONFIG]"
    assert (
        cli("gradcheck", "-h").stdout.splitlines()[0]
        == "Usage: nnctl gradcheck [OPTIONS] [CONFIG|RUN]"
    )
    top = cli("--help").stdout
    assert "..." not in top.split("Commands:")[1].split("Examples:")[0]  # no description cut off
    train = cli("train", "--help").stdout
    assert "nnctl config show CONFIG" in train and "\nConfig keys:\n" in train
    assert "  learning_rate " in train and "  beta1 " in train  # from the key table, optimizers too


def test_version(cli) -> None:
    import nnctl

    assert cli("--version").stdout == f"nnctl {nnctl.__version__}\n"


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["predict", "RUN", "x.png", "--threshold", "5"],
            "error: --threshold: must be between 0 and 1 (exclusive), got 5.0",
        ),
        (["train", "x.yaml", "--threads", "0"], "error: --threads: must be 1 or more, got 0"),
        (
            ["train", "--thread", "2"],
            "error: nnctl train: no such option --thread (did you mean --threads?)",
        ),
        (["trian"], "error: nnctl: no such command 'trian' (did you mean train?)"),
        (["runs", "lst"], "error: nnctl runs: no such command 'lst' (did you mean list?)"),
        (["runs", "list", "--limit", "0"], "error: --limit: must be 1 or more, got 0"),
        (["predict"], "error: nnctl predict: missing argument RUN; see 'nnctl predict --help'"),
        (["train", "x.yaml", "--set"], "error: nnctl train: option '--set' requires an argument"),
        (
            ["plot", "RUN", "-o", "x.png", "--bogus"],
            "error: nnctl plot: no such option --bogus; see 'nnctl plot --help'",
        ),
        (["--verison"], "error: nnctl: no such option --verison (did you mean --version?)"),
    ],
)
def test_usage_errors_are_one_line(cli, args: list[str], line: str) -> None:
    r = cli(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [line]


def test_completion_scripts_and_candidates(tmp_path: Path) -> None:
    # typer detects the calling shell unless told not to; the test names each shell itself
    env = {
        **os.environ,
        "NNCTL_RUNS_DIR": str(tmp_path / "runs"),
        "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
    }
    (tmp_path / "runs" / "20261126-101500-000-abcd").mkdir(parents=True)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "moons.yaml").write_text(MOONS_SMALL)
    for shell in ("bash", "zsh", "fish"):
        out = subprocess.run(
            [sys.executable, "-m", "nnctl", "--show-completion", shell],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0 and "_NNCTL_COMPLETE" in out.stdout.upper().replace("-", "_"), (
            out.stderr
        )

    def complete(words: str) -> list[str]:
        e = {
            **env,
            "_NNCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }
        code = "import sys; sys.argv = ['nnctl']; from nnctl.cli import main; main()"
        out = subprocess.run(
            [sys.executable, "-c", code], env=e, cwd=tmp_path, capture_output=True, text=True
        )
        return out.stdout.split()

    assert complete("nnctl predict 2026") == ["20261126-101500-000-abcd"]
    assert complete("nnctl train conf") == ["configs/"]
    assert complete("nnctl train configs/") == ["configs/moons.yaml"]
    assert complete("nnctl train x.yaml --set learning_") == ["learning_rate="]
    # No heavy module on a Tab press.
    code = (
        "import sys; sys.argv = ['nnctl']; from nnctl.cli import main\n"
        "try: main()\nexcept SystemExit: pass\nprint('numpy' in sys.modules, file=sys.stderr)"
    )
    e = {
        **env,
        "_NNCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "nnctl predict 2",
        "COMP_CWORD": "2",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=e, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.stderr.strip() == "False"


@pytest.fixture
def two_runs(cli, runs_dir: Path, tmp_path: Path) -> list[Path]:
    out = []
    for lr in (0.5, 0.1):
        cfg = write_config(
            tmp_path / f"lr-{lr}.yaml",
            MOONS_SMALL.replace("learning_rate: 0.5", f"learning_rate: {lr}"),
        )
        r = cli("train", cfg, "--quiet", "--json")
        assert r.exit_code == 0, r.stderr
        out.append(Path(json.loads(r.stdout)["run_dir"]))
    return out


def test_columns_and_formats(cli, two_runs: list[Path]) -> None:
    cols = "name,learning_rate,layer_dims,val_accuracy,test_accuracy"
    r = cli("runs", "list", "--columns", cols)
    lines = r.stdout.splitlines()
    assert lines[0].split() == cols.split(",")
    assert (
        lines[1].split()[:2] == ["lr-0.5", "0.5"] and "[2, 8, 1]" in lines[1] and " - " in lines[1]
    )
    csv_lines = cli("runs", "list", "--columns", cols, "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == cols and csv_lines[1].startswith('lr-0.5,0.5,"[2, 8, 1]",,')
    tsv = cli("runs", "list", "--columns", "name,learning_rate", "--format", "tsv").stdout
    assert tsv == "name\tlearning_rate\nlr-0.5\t0.5\nlr-0.1\t0.1\n"
    rows = json.loads(cli("runs", "list", "--columns", "name,dataset.m", "--format", "json").stdout)
    assert rows == [{"name": "lr-0.5", "dataset.m": 200}, {"name": "lr-0.1", "dataset.m": 200}]
    bad = cli("runs", "list", "--columns", "name,tset_accuracy")
    assert bad.exit_code == 2 and "did you mean test_accuracy?" in bad.stderr
    assert cli("runs", "list", "--format", "xml").exit_code == 2


def test_date_filters(cli, two_runs: list[Path]) -> None:
    def ids(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return [row["id"] for row in json.loads(cli("runs", "list", *args, "--json").stdout)]

    everything = [d.name for d in two_runs]
    assert ids("created>1h") == everything  # made in the last hour
    assert ids("created<1h") == []
    assert ids("created<2099-01-01") == everything and ids("created>2099-01-01T10:25") == []
    r = cli("runs", "list", "--filter", "created<soon")
    assert r.exit_code == 2 and "duration ago" in r.stderr


def test_rm_filter_dry_run(cli, two_runs: list[Path]) -> None:
    r = cli("runs", "rm", "--filter", "learning_rate<0.3", "--dry-run")
    assert (
        r.exit_code == 0 and r.stdout == f"{two_runs[1].name}\n" and "nothing deleted" in r.stderr
    )
    assert two_runs[1].is_dir()
    r = cli("runs", "rm", "--filter", "learning_rate<0.3", "--yes")
    assert r.stdout == f"{two_runs[1].name}\n" and not two_runs[1].exists() and two_runs[0].is_dir()
    assert cli("runs", "rm").exit_code == 2
    assert cli("runs", "rm", two_runs[0].name, "--filter", "name=x").exit_code == 2


def test_compare_prints_yaml_flow_style(cli, two_runs: list[Path]) -> None:
    from nnctl.runs import flow

    assert flow(["relu", "relu", "sigmoid"]) == "[relu, relu, sigmoid]"
    assert flow({"rate": 0.1, "interval": 10}) == "{rate: 0.1, interval: 10}"
    out = cli("runs", "compare", *(d.name for d in two_runs)).stdout
    assert "learning_rate" in out and "beta1" not in out and "['" not in out


def test_runs_show_prints_the_model_summary(cli, two_runs: list[Path]) -> None:
    out = cli("runs", "show", two_runs[0].name).stdout
    model = out.split("\nmodel\n")[1].split("\n\ncost\n")[0].splitlines()
    assert model[0].split() == ["layer", "W", "b", "activation", "params"]
    assert model[1].split() == ["1", "(8,", "2)", "(8,", "1)", "relu", "24"]
    assert model[3] == "total 33 parameters (264 bytes as float64)"
    assert model[4] == "activations: 23.4 KiB for a batch of 150 examples (160 bytes per example)"


def test_config_schema_follows_the_key_table(cli) -> None:
    from nnctl.config import REQUIRED, config_keys

    schema = json.loads(cli("config", "schema").stdout)
    keys = config_keys()
    assert list(schema["properties"]) == list(keys)
    assert schema["required"] == [k for k, v in keys.items() if v.default is REQUIRED]
    assert schema["properties"]["learning_rate"]["exclusiveMinimum"] == 0
    assert "relu" in schema["properties"]["activations"]["anyOf"][0]["items"]["enum"]
    assert schema["properties"]["optimizer"]["enum"][0] == "gd"
    assert {"type": "null"} in schema["properties"]["beta1"]["anyOf"]


def test_config_show_json_and_model_summary(cli, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    data = json.loads(cli("config", "show", cfg, "--json").stdout)
    assert data["config"]["layer_dims"] == [2, 8, 1]
    model = data["model"]
    assert model["params"] == 2 * 8 + 8 + 8 + 1 and model["batch"] == 150
    assert model["param_bytes"] == 33 * 8 and model["forward_flops_per_example"] == (2 * 16 + 8) + (
        2 * 8 + 1
    )
    assert model["activation_bytes"] == 150 * 8 * (2 + 2 * (8 + 1))


def test_model_summary_lines() -> None:
    from nnctl.core import summarize, summary_lines

    s = summarize([12288, 20, 7, 5, 1], ["relu", "relu", "relu", "sigmoid"], "float64", 209)
    lines = summary_lines(s)
    assert lines[1].split() == ["1", "(20,", "12288)", "(20,", "1)", "relu", "245,780"]
    assert lines[5] == "total 245,973 parameters (1.9 MiB as float64)"
    assert summarize(["auto", 3, 1], ["relu", "sigmoid"]) is None


@pytest.mark.parametrize("width", [40, 50, 60, 80, 120])
@pytest.mark.parametrize("total", [3000, 200_000])
def test_progress_line_fits_narrow_terminals(width: int, total: int) -> None:
    from rich.console import Console

    from nnctl.cli.display import make_progress

    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    progress = make_progress(console, total)
    task = progress.add_task("train", total=total, cost="0.210629", speed="17,005")
    done = total * 7 // 10
    progress.update(task, completed=done)
    console.print(progress.get_renderable())
    line = console.file.getvalue().rstrip("\n")
    assert len(line) <= width and "…" not in line
    assert f"{done}/{total}" in line and "cost 0.210629" in line and "ETA" in line
    if width >= 100:
        assert "━" in line and "it/s" in line and "iteration" in line
    if width <= 60:
        assert "━" not in line  # the bar is the first to go


def test_train_names_the_run_once_in_its_summary(cli, runs_dir: Path, tmp_path: Path) -> None:
    r = cli("train", write_config(tmp_path / "m.yaml", MOONS_SMALL))
    run_id = r.stdout.strip()
    assert r.stdout == f"{run_id}\n"
    assert r.stderr.count(f"run {run_id}") == 1


def test_predict_reads_stdin_and_refuses_urls(cli, moons_run: Path) -> None:
    r = cli("predict", str(moons_run), "https://example.org/Cat03.jpg")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: https://example.org/Cat03.jpg: predict reads local files; download it first, "
        "or pipe it in: "
        f"curl -sL 'https://example.org/Cat03.jpg' | nnctl predict {moons_run} -"
    ]
    r = cli("predict", str(moons_run), "-", input="not an image")
    assert r.exit_code == 1 and "error: -: standard input is read only as an image" in r.stderr
