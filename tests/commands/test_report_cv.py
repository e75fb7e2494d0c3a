"""The report of a fold run of ``nnctl cv``: the cv's statistics over its folds (those of the
fold runs), and its suspect labels, as thumbnails for image data (each the training image at
that index, pixel for pixel) and as a table for feature vectors; one section per cv on a page
of several folds; the course's cat data when it is installed."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import write_config

FLIPPED = [4, 23, 41, 58]  # labels flipped on purpose: the suspects to find


def _images(path: Path, m: int = 72, flipped: list[int] = FLIPPED) -> tuple[np.ndarray, np.ndarray]:
    """8x8 RGB images, dark (class 0) or bright (class 1) with noise; some labels flipped."""
    rng = np.random.default_rng(7)
    y = np.arange(m) % 2
    base = np.where(y[:, None, None, None] == 1, 190, 60)
    x = np.clip(base + rng.normal(0, 20, (m, 8, 8, 3)), 0, 255).astype(np.uint8)
    noisy = y.copy()
    noisy[flipped] = 1 - y[flipped]
    with h5py.File(path, "w") as f:
        f["train_set_x"] = x
        f["train_set_y"] = noisy
        f["list_classes"] = np.array([b"dark", b"bright"])
    return x, noisy


IMAGES = """\
dataset: {train: shades.h5}
layer_dims: [auto, 4, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.05
iterations: 200
seed: 2
"""


def _cv(cli, cfg: Path, *args: str) -> dict:
    r = cli("cv", cfg, *args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _report(cli, tmp_path: Path, *run_ids: str, max_images: int = 24) -> str:
    out = tmp_path / "report.html"
    r = cli("report", *run_ids, "-o", out, "--max-images", str(max_images))
    assert r.exit_code == 0, r.stderr
    return out.read_text()


def _thumbnails(page: str) -> list[tuple[int, np.ndarray, str]]:
    """(index, pixels, caption) of every suspect thumbnail on the page."""
    from PIL import Image

    found = re.findall(
        r'<img src="data:image/png;base64,([^"]+)" width="96" height="96" '
        r'alt="training example (\d+)"><figcaption>(.*?)</figcaption>',
        page,
    )
    return [
        (int(i), np.asarray(Image.open(io.BytesIO(base64.b64decode(b)))), caption)
        for b, i, caption in found
    ]


def test_a_fold_runs_report_shows_the_cv_and_its_suspects_as_images(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    x, noisy = _images(tmp_path / "shades.h5")
    cfg = write_config(tmp_path / "shades.yaml", IMAGES)
    out = _cv(cli, cfg, "--folds", "3", "--suspects", "6")
    assert set(FLIPPED) <= {s["index"] for s in out["suspects"]}  # found among 6
    page = _report(cli, tmp_path, out["runs"][1]["run_id"], max_images=6)
    assert page.count("<h3>Cross-validation</h3>") == 1
    assert f"fold 2 of 3 of cv <code>{out['cv_id']}</code>" in page
    for name, m in out["metrics"].items():  # the statistics are cv.json's, the fold's in bold
        row = re.search(rf"<tr><td>{name}</td>(.*?)</tr>", page).group(1)
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert cells[0] == f"{m['mean']:.4f}" and cells[1] == f"{m['std']:.4f}"
        assert cells[3] == f"<b>{m['folds'][1]:.4f}</b>"
    thumbs = _thumbnails(page)
    # the same suspects, in the same order, as nnctl cv --suspects lists them
    assert [i for i, _, _ in thumbs] == [s["index"] for s in out["suspects"]]
    assert set(FLIPPED) <= {i for i, _, _ in thumbs}
    for (i, pixels, caption), s in zip(thumbs, out["suspects"]):
        assert np.array_equal(pixels, x[i])  # the training image at that index, pixel for pixel
        assert f"label <b>{['dark', 'bright'][noisy[i]]}</b>" in caption
        assert f"predicted <b>{s['predicted']}</b>" in caption
        assert f"p(label) {s['p_label']:.3f} · fold {s['fold']}" in caption

    # all three folds on one page: the cv once, with the first of them
    page = _report(cli, tmp_path, *(r["run_id"] for r in out["runs"]), max_images=3)
    assert page.count("<h3>Cross-validation</h3>") == 3
    assert page.count("<h3>Suspect labels</h3>") == 1
    assert page.count("are shown with fold 1 above") == 2
    assert len(_thumbnails(page)) == 3

    # a run that is no fold has no such section
    r = cli("train", cfg, "-q")
    assert r.exit_code == 0, r.stderr
    assert "Cross-validation" not in _report(cli, tmp_path, r.stdout.strip())


def test_feature_suspects_are_a_table_and_a_lost_record_a_note(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    x = rng.normal(0, 0.4, (80, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    y[[5, 30]] = 1 - y[[5, 30]]
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    cfg = write_config(
        tmp_path / "blobs.yaml",
        "dataset: {train: blobs.npz}\nlayer_dims: [auto, 4, 1]\nactivations: [relu, sigmoid]\n"
        "init: he\nlearning_rate: 0.3\niterations: 300\n",
    )
    out = _cv(cli, cfg, "--folds", "4", "--suspects", "2")
    assert sorted(s["index"] for s in out["suspects"]) == [5, 30]
    page = _report(cli, tmp_path, out["runs"][0]["run_id"])
    assert "<img" not in page.split("<h3>Suspect labels</h3>", 1)[1].split("<h3>Config", 1)[0]
    table = page.split("<h3>Suspect labels</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td>", table)
    assert [int(i) for i, _ in rows[:2]] == [s["index"] for s in out["suspects"]]

    (Path(out["cv_dir"]) / "cv.json").unlink()
    page = _report(cli, tmp_path, out["runs"][0]["run_id"])
    assert "the cv record is not available" in page and "cannot read the cv record" in page


DATA = Path(os.environ.get("NNCTL_DATA_DIR", "")) / "train_catvnoncat.h5"


@pytest.mark.skipif(
    not DATA.is_file(), reason="the course's cat data is not installed (NNCTL_DATA_DIR)"
)
def test_the_cat_datas_suspects_are_its_own_pictures(cli, runs_dir: Path, tmp_path: Path) -> None:
    configs = Path(__file__).resolve().parents[2] / "configs"
    out = _cv(
        cli,
        configs / "cat_2layer.yaml",
        "--folds",
        "3",
        "--set",
        "iterations=40",
        "--suspects",
        "4",
    )
    page = _report(cli, tmp_path, out["runs"][0]["run_id"], max_images=4)
    thumbs = _thumbnails(page)
    assert [i for i, _, _ in thumbs] == [s["index"] for s in out["suspects"]] and thumbs
    with h5py.File(DATA) as f:
        x = f["train_set_x"][:]
    for i, pixels, _ in thumbs:
        assert pixels.shape == (64, 64, 3) and np.array_equal(pixels, x[i])
