"""Hostile input, round 3 (issue 29), the data and commands classes: defects a user meets
without trying (a run on a .npy pair through evaluate and report, an image on standard input),
ambiguous own-data rules, bounded error lines, checks in the right order, non-UTF-8 names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.owndata import make_project, one_error, train_json


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


def trained(cli, config: Path, *args: str) -> Path:
    return Path(train_json(cli, config, *args)["run_dir"])


def no_traceback(r) -> None:
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr.replace("error:", ""), r.stderr


# --------------------------------------------------------------------------- 1. defects


def test_a_run_on_a_npy_pair_evaluates_and_reports(
    cli, project: Path, runs_dir: Path, tmp_path: Path
) -> None:
    run = trained(cli, project / "configs" / "points_npy.yaml", "--set", "iterations=50")
    r = cli("evaluate", run, "--json")
    no_traceback(r)
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["n"] == 60 and got["data"].startswith("test split (x: ")
    assert "differs from the train file" not in r.stderr  # x and y compared with their own hash
    r = cli("evaluate", run, "--split", "train", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 240
    r = cli("report", run, "-o", tmp_path / "report.html")
    no_traceback(r)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "report.html").stat().st_size > 0


def test_an_image_on_standard_input_is_predicted(cli, project: Path, runs_dir: Path) -> None:
    run = trained(cli, project / "configs" / "shapes_folder.yaml", "--set", "epochs=2")
    image = sorted((project / "data" / "examples" / "shapes" / "circle").iterdir())[0]
    by_name = cli("predict", run, image, "--json")
    assert by_name.exit_code == 0, by_name.stderr
    r = cli("predict", run, "-", "--json", input=image.read_bytes())
    assert r.exit_code == 0, r.stderr
    [piped] = json.loads(r.stdout)
    assert piped["input"] == "-"
    assert piped["probabilities"] == json.loads(by_name.stdout)[0]["probabilities"]
    r = cli("predict", run, "-", input=b"not an image")
    assert r.exit_code == 1
    assert (
        r.stderr.splitlines()[0] == "error: - (standard input): not an image file Pillow can read"
    )


# --------------------------------------------------------------------------- 2. own-data rules

CONFIG = "dataset: {{{data}}}\nlayer_dims: [auto, {units}]\nactivations: [{output}]\n"
CONFIG += "learning_rate: 0.1\niterations: 3\n"


def config(
    tmp_path: Path, data: str, units: int = 1, output: str = "sigmoid", name: str = "c"
) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CONFIG.format(data=data, units=units, output=output))
    return path


def test_a_csv_header_naming_a_column_twice_is_refused(cli, tmp_path: Path, runs_dir: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b,a\n1,2,0\n3,4,1\n")
    expected = (
        "d.csv: the header names column 'a' twice (columns 1 and 3); give every column its own name"
    )
    assert one_error(cli("train", config(tmp_path, "train: d.csv")), runs_dir) == expected
    assert one_error(cli("data", "inspect", "d.csv"), runs_dir) == expected
    (tmp_path / "d.csv").write_text("0,1,0\n1,2,0\n3,4,1\n")  # no header: columns 0, 1, 2
    assert cli("data", "inspect", "d.csv").exit_code == 0


@pytest.mark.parametrize(("units", "output"), [(1, "sigmoid"), (2, "softmax"), (3, "softmax")])
def test_one_class_folder_gets_advice_that_does_not_go_in_a_circle(
    cli, tmp_path: Path, runs_dir: Path, units: int, output: str
) -> None:
    from PIL import Image

    (tmp_path / "photos" / "cat").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (4, 4), (i, i, i)).save(tmp_path / "photos" / "cat" / f"{i}.png")
    cfg = config(tmp_path, "images: photos/", units, output)
    message = one_error(cli("train", cfg), runs_dir)
    assert message == (
        f"{cfg}: the dataset has 1 class (cat); a classifier needs at least 2 classes "
        "(an image folder: at least 2 class folders)"
    )
    (tmp_path / "one.csv").write_text("x,kind\n1,cat\n2,cat\n")  # the same for a CSV label
    cfg = config(tmp_path, "train: one.csv", units, output)
    assert "the dataset has 1 class (cat); a classifier needs" in one_error(
        cli("train", cfg), runs_dir
    )


# --------------------------------------------------------------------------- 3. bounded lines

LONGEST_LINE = 400  # characters of any error line, whatever the file quotes


def bounded(r) -> str:
    """The error output of a refused command: every line shorter than LONGEST_LINE."""
    assert r.exit_code == 2, (r.stdout, r.stderr)
    no_traceback(r)
    for line in r.stderr.splitlines():
        assert len(line) <= LONGEST_LINE, line[:500]
    return r.stderr


def test_quote_list_shows_a_few_items_and_how_many_more() -> None:
    from nnctl.system import quote_list

    assert quote_list([f"c{i}" for i in range(10_000)]) == "c0, c1, c2, c3, c4 ... and 9,995 more"
    assert quote_list(["a", "b"]) == "a, b" and quote_list([]) == ""
    assert quote_list(["a", "b"], quoted=True) == "'a', 'b'"
    assert quote_list(["x" * 100, "a\nb", "caf\udcff"]) == "x" * 40 + "..., a\\nb, caf\\xff"


def test_a_very_wide_csv_header_and_a_very_long_class_list_give_short_lines(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    n = 100_000
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"column_{i}" for i in range(n)) + "\n" + ",".join(["1"] * n) + "\n")
    err = bounded(cli("train", config(tmp_path, "train: wide.csv, label: kind")))
    assert (
        f"the header has column_0, column_1, column_2, column_3, column_4 ... and {n - 5:,} more"
        in err
    )
    # one huge header cell and one huge value
    (tmp_path / "cell.csv").write_text("h" * 100_000 + ",y\n" + "v" * 100_000 + ",1\n")
    err = bounded(cli("train", config(tmp_path, "train: cell.csv", name="cell")))
    assert "line 2, column hhhh" in err and "is not a number" in err
    # 10,000 classes (CSV labels): a test class the training data lacks, and a sigmoid output
    k = 10_000
    (tmp_path / "many.csv").write_text("x,kind\n" + "".join(f"{i},class_{i}\n" for i in range(k)))
    (tmp_path / "other.csv").write_text("x,kind\n1,class_0\n2,unknown\n")
    err = bounded(cli("train", config(tmp_path, "train: many.csv, test: other.csv")))
    assert (
        f"(classes: class_0, class_1, class_10, class_100, class_1000 ... and {k - 5:,} more)"
        in err
    )
    err = bounded(cli("train", config(tmp_path, "train: many.csv")))
    assert f"the dataset has {k:,} classes (class_0, " in err
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_an_alias_bomb_is_refused_naming_the_key_it_sits_under(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    from helpers.hostile import billion_laughs

    (tmp_path / "laughs.yaml").write_text(billion_laughs(9))
    message = one_error(cli("config", "check", "laughs.yaml", "--no-data"), runs_dir)
    assert message == "laughs.yaml: refused: aliases expand to more than 100,000 values (under n4)"
    (tmp_path / "deep.yaml").write_text("dataset:\n  train: " + "[" * 60 + "]" * 60 + "\n")
    message = one_error(cli("config", "check", "deep.yaml", "--no-data"), runs_dir)
    assert (
        message
        == "deep.yaml: refused: nested more than 50 levels deep (under dataset.train[0][0]...)"
    )


# --------------------------------------------------------------------------- 4. check order


@pytest.mark.parametrize("test_fraction", ["", ", test_fraction: 0.2"])
def test_x_and_y_of_different_lengths_are_refused_before_splitting(
    cli, tmp_path: Path, runs_dir: Path, test_fraction: str
) -> None:
    import numpy as np

    rng = np.random.RandomState(0)
    np.save(tmp_path / "x.npy", rng.rand(10, 2))
    np.save(tmp_path / "y.npy", np.arange(9) % 2)
    np.savez(tmp_path / "xy.npz", x=rng.rand(10, 2), y=np.arange(9) % 2)
    pair = config(tmp_path, "train: {x: x.npy, y: y.npy}" + test_fraction)
    expected = "x.npy: x.npy has 10 examples but y.npy has 9 labels"
    assert one_error(cli("train", pair), runs_dir) == expected
    assert one_error(cli("data", "inspect", pair), runs_dir) == expected
    archive = config(tmp_path, "train: xy.npz" + test_fraction, name="archive")
    assert (
        one_error(cli("train", archive), runs_dir) == "xy.npz: x has 10 examples but y has 9 labels"
    )
    linear = config(tmp_path, "train: xy.npz" + test_fraction, 1, "linear", "linear")
    assert one_error(cli("train", linear), runs_dir) == (
        "xy.npz: y: expected real-valued targets of shape (10,) or (10, n_outputs) for the 10 "
        "examples of x, got int64 (9,)"
    )
    np.save(tmp_path / "y.npy", (np.arange(10) % 2).reshape(1, 10))  # (1, m) labels still train
    r = cli("train", pair, "-q", "--json")
    assert r.exit_code == 0, r.stderr


# --------------------------------------------------------------------------- 5. non-UTF-8 names


@pytest.fixture
def bytes_named(tmp_path: Path) -> Path:
    """photos/ with a class folder and image files whose names are not UTF-8 (as on real disks)."""
    import os

    from PIL import Image

    root = os.fsencode(tmp_path / "photos")
    try:
        os.makedirs(root + b"/caf\xe9")
    except (OSError, UnicodeError):
        pytest.skip("this filesystem refuses names that are not UTF-8")
    os.makedirs(root + b"/cat")
    for i in range(3):
        for folder, name in ((b"caf\xe9", b"ok%d.png" % i), (b"cat", b"img\xff%d.png" % i)):
            with open(root + b"/" + folder + b"/" + name, "wb") as f:
                Image.new("RGB", (4, 4), (40 * i, 0, 0)).save(f, "PNG")
    return tmp_path / "photos"


def test_names_that_are_not_utf8_are_shown_escaped_and_never_crash(
    cli, tmp_path: Path, runs_dir: Path, bytes_named: Path
) -> None:
    run = trained(cli, config(tmp_path, "images: photos/, size: [4, 4]"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["preprocessing"]["classes"] == ["caf\\xe9", "cat"]
    r = cli("data", "inspect", "photos")
    assert r.exit_code == 0, r.stderr
    assert "classes: caf\\xe9, cat" in r.stdout
    r = cli("data", "import", "photos", "-o", tmp_path / "photos.h5")
    no_traceback(r)
    assert r.exit_code == 0, r.stderr
    assert "classes caf\\xe9, cat" in r.stderr
    r = cli("data", "inspect", tmp_path / "photos.h5", "--json")
    assert json.loads(r.stdout)["classes"] == ["caf\\xe9", "cat"]
    r = cli("predict", run, "photos/cat")
    assert r.exit_code == 0, r.stderr
    assert "photos/cat/img\\xff0.png" in r.stdout
    r = cli("evaluate", run, "--data", "photos", "--json")  # the same names match the run's
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 6


def test_the_folder_digest_of_utf8_names_is_unchanged(tmp_path: Path) -> None:
    import hashlib

    from nnctl.data.readers.folder import folder_digest

    (tmp_path / "caté").mkdir()
    image = tmp_path / "caté" / "ünïcode.png"
    image.write_bytes(b"pixels")
    expected = hashlib.sha256("caté/ünïcode.png".encode() + b"\0" + b"pixels").hexdigest()
    assert folder_digest([image], tmp_path) == expected


# --------------------------------------------------------------------------- data import, full


@pytest.mark.parametrize("room", [0, 2_000, 60_000])
def test_data_import_onto_a_full_disk_is_one_line_and_leaves_nothing(
    project: Path, tmp_path: Path, room: int
) -> None:
    """A file size limit stands in for a full disk: writes past ``room`` bytes fail (EFBIG)."""
    import resource
    import signal
    import subprocess
    import sys

    from helpers.proc import env_for

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

    shapes = project / "data" / "examples" / "shapes"
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run(
        [sys.executable, "-m", "nnctl", "data", "import", shapes, "-o", out / "s.h5"],
        cwd=tmp_path,
        env=env_for(tmp_path / "runs"),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [f"error: {out / 's.h5'}: cannot write: File too large"]
    assert list(out.iterdir()) == []
