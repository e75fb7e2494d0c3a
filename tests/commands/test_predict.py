"""`nnctl predict`: image files of every mode and format, directories, bad files among good
ones, feature files, and agreement with the training pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import CONFIGS, hand_forward
from nnctl.commands import train_run
from nnctl.config import load_config
from nnctl.core import Architecture, predict_proba
from nnctl.data import load_dataset, read_h5
from nnctl.runs import load_run


@pytest.fixture(scope="module")
def cat_model(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A complete run of configs/cat_deep.yaml (1 iteration), whose weights are then replaced by
    He-random ones from a fixed generator, centred on mid-grey with a steep output layer.

    A briefly trained network answers about 0.49 for every image, so a conversion mistake
    would not show; this one spreads the test images' probabilities over 0.2 .. 1, so it does.
    Built once per module (training under load is slow). None without the data: every test
    using it also asks for ``cat_dir``, which skips (or fails in CI).
    """
    from nnctl.system import DataError

    try:
        cfg = load_config(CONFIGS / "cat_deep.yaml", ["iterations=1"])
        outcome = train_run(cfg, tmp_path_factory.mktemp("runs"))
    except DataError:
        return None
    dims = outcome.summary.layer_dims
    rng = np.random.default_rng(0)
    params = {}
    for l in range(1, len(dims)):
        W = rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(2 / dims[l - 1])
        b = -0.45 * W.sum(axis=1, keepdims=True) if l == 1 else np.zeros((dims[l], 1))
        params[f"W{l}"], params[f"b{l}"] = (W * 8 if l == len(dims) - 1 else W), b
    np.savez(outcome.run_dir / "params.npz", **params)
    return outcome.run_dir


@pytest.fixture
def cat_images(cat_dir: Path) -> np.ndarray:
    """The first 6 raw test images: (6, 64, 64, 3) uint8."""
    return read_h5(cat_dir / "test_catvnoncat.h5").x[:6]


def predict_json(cli, run: Path, *inputs) -> list[dict]:
    r = cli("predict", str(run), *inputs, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def pipeline_probabilities(run: Path, cat_dir: Path, n: int) -> np.ndarray:
    """P(cat) of the first n test examples as training computes it: load_dataset -> forward."""
    loaded = load_run(run)
    ds = load_dataset(
        {"train": str(cat_dir / "train_catvnoncat.h5"), "test": str(cat_dir / "test_catvnoncat.h5")}
    )
    arch = Architecture.build(loaded.config.activations, loaded.config.loss)
    return predict_proba(loaded.params, ds.X_test[:, :n], arch)[0]


def test_png_of_training_images_gives_the_pipelines_probabilities_exactly(
    cli, cat_model: Path, cat_dir: Path, cat_images: np.ndarray, tmp_path: Path
) -> None:
    paths = []
    for i, img in enumerate(cat_images):
        paths.append(tmp_path / f"test{i}.png")
        Image.fromarray(img).save(paths[-1])
    out = predict_json(cli, cat_model, *paths)
    expected = pipeline_probabilities(cat_model, cat_dir, len(cat_images))
    got = np.array([o["probabilities"]["cat"] for o in out])
    np.testing.assert_array_equal(got, expected)  # bit for bit
    np.testing.assert_allclose(
        got, hand_forward(cat_model, cat_images.reshape(6, -1).T / 255.0), rtol=1e-12
    )
    assert [o["input"] for o in out] == [str(p) for p in paths]
    for o, p in zip(out, expected):
        assert set(o) >= {"input", "label", "class", "probability"}
        assert o["label"] == int(p > 0.5)
        assert o["class"] == ["non-cat", "cat"][o["label"]]
        assert o["probability"] == pytest.approx(p if o["label"] else 1 - p, abs=1e-15)


def test_jpeg_is_close_to_the_pipeline(
    cli, cat_model: Path, cat_dir: Path, cat_images, tmp_path: Path
) -> None:
    paths = []
    for i, img in enumerate(cat_images):
        paths.append(tmp_path / f"test{i}.jpg")
        Image.fromarray(img).save(paths[-1], quality=95)
    got = np.array([o["probabilities"]["cat"] for o in predict_json(cli, cat_model, *paths)])
    expected = pipeline_probabilities(cat_model, cat_dir, len(cat_images))
    assert not np.array_equal(got, expected)  # JPEG is lossy: it really went through the file
    np.testing.assert_allclose(got, expected, atol=0.02)


def _write(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def _rgb_reference(arr: np.ndarray, path: Path) -> Path:
    return _write(Image.fromarray(arr.astype(np.uint8), "RGB"), path)


def test_every_mode_is_converted_like_its_rgb_equivalent(
    cli, cat_model: Path, cat_images, tmp_path: Path
) -> None:
    """Each file on the left must predict exactly like the plain RGB image on the right, whose
    pixels are worked out here from what the mode means."""
    img = cat_images[0].astype(np.int64)
    gray = img[..., 1].astype(np.uint8)
    alpha = np.where(np.arange(64)[None, :] < 32, 255, 0).repeat(64, axis=0).astype(np.uint8)
    on_white = np.where(alpha[..., None] == 255, img, 255)
    gray3 = np.repeat(gray[..., None], 3, axis=2)
    gray_on_white = np.where(alpha[..., None] == 255, gray3, 255)
    # palette image: 4 colours, index 0 transparent
    idx = (np.arange(64 * 64).reshape(64, 64) // 7 % 4).astype(np.uint8)
    palette = np.array([[10, 20, 30], [200, 100, 50], [0, 255, 0], [90, 90, 250]], dtype=np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette(palette.reshape(-1).tolist())
    pal.info["transparency"] = 0
    pal_expected = np.where(idx[..., None] == 0, 255, palette[idx])
    cmyk = np.concatenate([255 - img, np.zeros((64, 64, 1), dtype=np.int64)], axis=2).astype(
        np.uint8
    )
    sixteen = gray.astype(np.uint16) * 257  # full 16-bit range: a plain convert would clip to white

    cases = {
        "rgba.png": (Image.fromarray(np.dstack([img.astype(np.uint8), alpha]), "RGBA"), on_white),
        "la.png": (
            Image.fromarray(np.dstack([gray, gray, gray, alpha])).convert("LA"),
            gray_on_white,
        ),
        "p.png": (pal, pal_expected),
        "p.gif": (pal, pal_expected),
        "l.png": (Image.fromarray(gray, "L"), gray3),
        "l.gif": (Image.fromarray(gray, "L"), gray3),
        "cmyk.tiff": (Image.frombytes("CMYK", (64, 64), cmyk.tobytes()), img),
        "cmyk.jpg": (
            Image.frombytes("CMYK", (64, 64), cmyk.tobytes()),
            None,
        ),  # lossy: only checked to be close
        "i16.png": (Image.fromarray(sixteen), gray3),
        "rgb.bmp": (Image.fromarray(img.astype(np.uint8)), img),
        "rgb.webp": (Image.fromarray(img.astype(np.uint8)), img),
    }
    files, refs = [], []
    for name, (im, expected) in cases.items():
        kw = {"lossless": True} if name.endswith(".webp") else {}
        if name == "cmyk.jpg":
            kw = {"quality": 98}
        files.append(_write(im, tmp_path / name, **kw))
        refs.append(
            _rgb_reference(img if expected is None else expected, tmp_path / f"ref_{name}.png")
        )
    assert Image.open(tmp_path / "i16.png").mode in ("I;16", "I")
    out = predict_json(cli, cat_model, *files, *refs)
    n = len(files)
    for name, got, ref in zip(cases, out[:n], out[n:]):
        if name == "cmyk.jpg":
            assert got["probabilities"]["cat"] == pytest.approx(
                ref["probabilities"]["cat"], abs=0.02
            ), name
        else:
            assert got["probabilities"] == ref["probabilities"], name


def test_exif_orientation_is_applied(cli, cat_model: Path, cat_images, tmp_path: Path) -> None:
    img = cat_images[1]
    upright = _write(Image.fromarray(img), tmp_path / "upright.png")
    # Orientation 6 means "rotate 90 degrees clockwise to display": store it turned the other way.
    stored = Image.fromarray(np.rot90(img, k=1))
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = _write(stored, tmp_path / "rotated.jpg", exif=exif, quality=100, subsampling=0)
    no_exif = _write(stored, tmp_path / "no_exif.jpg", quality=100, subsampling=0)
    out = predict_json(cli, cat_model, upright, rotated, no_exif)
    p = [o["probabilities"]["cat"] for o in out]
    assert abs(p[1] - p[0]) < 0.01
    assert abs(p[2] - p[0]) > abs(p[1] - p[0])


def test_any_size_is_resized_with_antialiasing(
    cli, cat_model: Path, cat_images, tmp_path: Path
) -> None:
    img = cat_images[2]
    big = np.repeat(np.repeat(img, 3, axis=0), 3, axis=1)  # 192 x 192, each pixel a 3x3 block
    out = predict_json(
        cli,
        cat_model,
        _write(Image.fromarray(img), tmp_path / "a.png"),
        _write(Image.fromarray(big), tmp_path / "big.png"),
        _write(Image.fromarray(big).resize((300, 170)), tmp_path / "wide.png"),
    )
    p = [o["probabilities"]["cat"] for o in out]
    assert p[1] == pytest.approx(p[0], abs=0.01)
    assert 0 <= p[2] <= 1


def test_directory_input_predicts_its_images_sorted(
    cli, cat_model: Path, cat_images, tmp_path: Path
) -> None:
    d = tmp_path / "photos"
    d.mkdir()
    for name, i in (("b.png", 0), ("a.jpg", 1), ("c.PNG", 2)):
        Image.fromarray(cat_images[i]).save(
            d / name, format="PNG" if name.lower().endswith("png") else "JPEG"
        )
    (d / "notes.txt").write_text("not an image")
    (d / ".hidden.png").write_bytes(b"")
    out = predict_json(cli, cat_model, d)
    assert [Path(o["input"]).name for o in out] == ["a.jpg", "b.png", "c.PNG"]


def test_bad_files_get_their_own_error_and_the_rest_are_predicted(
    cli, cat_model: Path, cat_images, tmp_path: Path
) -> None:
    good1 = _write(Image.fromarray(cat_images[0]), tmp_path / "good1.png")
    good2 = _write(Image.fromarray(cat_images[1]), tmp_path / "good2.png")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    truncated = tmp_path / "truncated.jpg"
    Image.fromarray(cat_images[2]).save(truncated, quality=95)
    truncated.write_bytes(truncated.read_bytes()[:1500])
    truncated_png = tmp_path / "truncated.png"
    truncated_png.write_bytes(good1.read_bytes()[:3000])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    r = cli(
        "predict",
        str(cat_model),
        good1,
        text,
        truncated,
        truncated_png,
        tmp_path / "missing.png",
        empty_dir,
        good2,
        "--json",
    )
    assert r.exit_code == 1
    assert [o["input"] for o in json.loads(r.stdout)] == [str(good1), str(good2)]
    lines = r.stderr.strip().splitlines()
    assert lines[0] == f"error: {text}: not an image file Pillow can read"
    assert lines[1].startswith(f"error: {truncated}: ") and "truncated" in lines[1]
    assert lines[2].startswith(f"error: {truncated_png}: ") and "truncated" in lines[2]
    assert lines[3] == f"error: {tmp_path / 'missing.png'}: no such file"
    assert lines[4] == f"error: {empty_dir}: no image files in this directory"
    assert lines[5] == "5 input(s) failed, 2 prediction(s) made"
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("limit", [3000, 1000])  # 64*64 = 4096 pixels: a warning, then an error
def test_decompression_bomb_refused(
    cli, cat_model: Path, cat_images, tmp_path: Path, monkeypatch, limit: int
) -> None:
    good = _write(Image.fromarray(cat_images[0]), tmp_path / "good.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    r = cli("predict", str(cat_model), good, "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout) == []
    assert f"{good}: refused as a possible decompression bomb" in r.stderr


def test_table_output_and_threshold(
    cli, cat_model: Path, cat_dir, cat_images, tmp_path: Path
) -> None:
    path = _write(Image.fromarray(cat_images[0]), tmp_path / "x.png")
    p = float(pipeline_probabilities(cat_model, cat_dir, 1)[0])
    r = cli("predict", str(cat_model), "x.png")  # relative: cli runs in tmp_path
    assert r.exit_code == 0 and r.stderr == ""
    label = "cat" if p > 0.5 else "non-cat"
    row = next(line for line in r.stdout.splitlines() if "x.png" in line)
    # The positive class's probability, with the threshold it was compared with in the title.
    assert label in row and f"{p:.6f}" in row
    assert "cat when P(cat) > 0.5, else non-cat" in r.stdout
    # a threshold just above / below p flips the label
    for t, expected in ((min(p + 0.01, 0.99), "non-cat"), (max(p - 0.01, 0.01), "cat")):
        out = predict_json(cli, cat_model, path, "--threshold", t)
        assert out[0]["class"] == expected


@pytest.mark.parametrize("t", ["0", "1", "1.5", "-0.2"])
def test_threshold_outside_0_1_is_a_usage_error(
    cli, moons_run: Path, tmp_path: Path, t: str
) -> None:
    f = tmp_path / "p.csv"
    f.write_text("0,0\n")
    r = cli("predict", str(moons_run), f, "--threshold", t)
    assert r.exit_code == 2 and r.stdout == ""
    assert "threshold" in r.stderr and "between 0 and 1" in r.stderr


def test_feature_files_csv_and_npy(cli, moons_run: Path, tmp_path: Path) -> None:
    X = np.array([[0.0, 1.0], [1.0, -0.5], [2.0, 0.3]])
    csv = tmp_path / "p.csv"
    csv.write_text("x1,x2\n" + "\n".join(f"{a!r},{b!r}" for a, b in X.tolist()) + "\n")
    npy = tmp_path / "p.npy"
    np.save(npy, X)
    out = predict_json(cli, moons_run, csv, npy)
    expected = hand_forward(moons_run, X.T)
    got = np.array([o["probabilities"]["lower"] for o in out])
    np.testing.assert_allclose(got, np.r_[expected, expected], rtol=1e-12)
    assert [o["input"] for o in out] == [f"{csv}[{i}]" for i in range(3)] + [
        f"{npy}[{i}]" for i in range(3)
    ]
    assert [o["class"] for o in out[:3]] == [["upper", "lower"][int(p > 0.5)] for p in expected]


def test_feature_count_and_wrong_kind_of_input_checked(
    cli, moons_run: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("0.5,0.5\n")
    three = tmp_path / "three.npy"
    np.save(three, np.zeros((4, 3)))
    png = tmp_path / "img.png"
    Image.new("RGB", (2, 2)).save(png)
    words = tmp_path / "words.csv"
    words.write_text("a,b\n1,oops\n")
    r = cli("predict", str(moons_run), three, good, png, words, tmp_path, "--json")
    assert r.exit_code == 1
    assert [o["input"] for o in json.loads(r.stdout)] == [f"{good}[0]"]
    err = r.stderr.splitlines()
    assert err[0] == f"error: {three}: rows have 3 features, but the run expects 2"
    assert (
        err[1] == f"error: {png}: this run was trained on feature vectors; give a .csv or .npy file"
    )
    assert (
        err[2] == f"error: {words}, line 2, column b: 'oops' is not a number"
    )  # the CSV reader's line numbers
    assert (
        err[3]
        == f"error: {tmp_path}: is a directory; this run takes .csv or .npy files of feature rows"
    )


def test_file_names_with_brackets_are_printed_as_they_are(
    cli, cat_model: Path, cat_images, tmp_path: Path
) -> None:
    _write(Image.fromarray(cat_images[0]), tmp_path / "[b]ad.png")
    r = cli("predict", str(cat_model), "[b]ad.png", "[i]gone.png")  # relative: cli runs in tmp_path
    assert r.exit_code == 1
    assert "│ [b]ad.png │" in r.stdout
    assert r.stderr.splitlines()[0] == "error: [i]gone.png: no such file"


def test_npz_archive_named_npy_and_empty_csv_are_input_errors(
    cli, moons_run: Path, tmp_path: Path
) -> None:
    np.savez(tmp_path / "z.npz", a=np.zeros((2, 2)))
    (tmp_path / "z.npz").rename(tmp_path / "z.npy")
    (tmp_path / "empty.csv").write_text("")
    np.save(tmp_path / "good.npy", np.zeros((1, 2)))
    r = cli(
        "predict",
        str(moons_run),
        tmp_path / "z.npy",
        tmp_path / "empty.csv",
        tmp_path / "good.npy",
        "--json",
    )
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "Warning" not in r.stderr
    assert f"{tmp_path / 'z.npy'}: an .npz archive, not a .npy array" in r.stderr
    assert f"{tmp_path / 'empty.csv'}: no examples" in r.stderr
    assert [p["input"] for p in json.loads(r.stdout)] == [f"{tmp_path / 'good.npy'}[0]"]
