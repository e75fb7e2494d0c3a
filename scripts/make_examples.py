#!/usr/bin/env python3
"""Writes small example datasets of every kind nnctl reads, generated in code (nothing binary is
committed): ``python scripts/make_examples.py [FOLDER]`` (default data/examples/).

- ``shapes/``: an image folder, one subfolder per class (circle, square, triangle), 24 PNG and
  JPEG images each, of a few sizes, drawn with Pillow on noisy backgrounds;
- ``flowers.csv``: 150 rows, a header, three features on very different scales and a string
  label column ``species`` (three classes); ``flowers_new.csv``: 5 new rows without labels;
- ``points.npz`` (arrays x, y), ``points_x.npy``/``points_y.npy`` (the same as a pair) and
  ``points.h5`` (arrays named plainly x and y): 300 two-feature points in two classes.

``configs/shapes_folder.yaml``, ``flowers_csv.yaml``, ``points_npz.yaml``, ``points_npy.yaml``
and ``points_h5.yaml`` train on them; the tests run each one.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle")
SPECIES = ("setosa", "versicolor", "virginica")


def shape_image(kind: str, size: int, rng: np.random.RandomState):
    """One size x size RGB image: a light noisy background, a dark shape of random size/place."""
    from PIL import Image, ImageDraw

    bg = rng.randint(170, 256, size=(size, size, 3)).astype(np.uint8)
    im = Image.fromarray(bg, "RGB")
    d = ImageDraw.Draw(im)
    r = size * rng.uniform(0.25, 0.4)
    cx, cy = size * rng.uniform(0.4, 0.6, size=2)
    colour = tuple(int(c) for c in rng.randint(0, 90, size=3))
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return im


def write_shapes(folder: Path, per_class: int = 24, seed: int = 0) -> Path:
    rng = np.random.RandomState(seed)
    for kind in SHAPES:
        sub = folder / kind
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            size = (16, 20, 24)[i % 3]  # different sizes: resized to dataset.size
            im = shape_image(kind, size, rng)
            if i % 4 == 3:
                im.save(sub / f"{kind}_{i:02d}.jpg", quality=95)
            else:
                im.save(sub / f"{kind}_{i:02d}.png")
    return folder


def flower_rows(m: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Three species, features on very different scales: petal length (mm), weight (mg), a ratio."""
    rng = np.random.RandomState(seed)
    centres = np.array([[14.0, 250.0, 0.30], [43.0, 900.0, 0.45], [55.0, 1400.0, 0.62]])
    spread = np.array([3.0, 120.0, 0.05])
    y = rng.randint(0, 3, size=m)
    x = centres[y] + rng.randn(m, 3) * spread
    return x, [SPECIES[k] for k in y]


def write_flowers(path: Path, m: int = 150, seed: int = 1) -> Path:
    x, labels = flower_rows(m, seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["petal_mm", "weight_mg", "ratio", "species"])
        for row, label in zip(x, labels):
            w.writerow([f"{v:.4g}" for v in row] + [label])
    new = path.with_name(path.stem + "_new.csv")
    x_new, _ = flower_rows(5, seed + 1)
    with open(new, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["petal_mm", "weight_mg", "ratio"])
        for row in x_new:
            w.writerow([f"{v:.4g}" for v in row])
    return path


def points(m: int = 300, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """x: (m, 2) float64, y: (m,) 0/1: inside or outside a circle."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, size=(m, 2))
    y = (np.hypot(x[:, 0], x[:, 1]) < 0.6).astype(np.int64)
    return x, y


def write_points(folder: Path) -> None:
    import h5py

    x, y = points()
    np.savez(folder / "points.npz", x=x, y=y)
    np.save(folder / "points_x.npy", x)
    np.save(folder / "points_y.npy", y)
    with h5py.File(folder / "points.h5", "w") as f:
        f["x"], f["y"] = x, y


def write_all(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_shapes(folder / "shapes")
    write_flowers(folder / "flowers.csv")
    write_points(folder)
    return folder


if __name__ == "__main__":
    out = write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "data/examples"))
    print(out)
