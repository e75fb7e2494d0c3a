"""The second course's data sets, drawn as its notebooks draw them, written as .npz files
(x: (m, 2), y: (m,)) for the configs/course2_*.yaml configs.

    python scripts/second_course_data.py [FOLDER]     default: the project's data/

The initialization notebook's init_utils.load_dataset():

    np.random.seed(1); train_X, train_Y = sklearn.datasets.make_circles(n_samples=300, noise=.05)
    np.random.seed(2); test_X, test_Y = sklearn.datasets.make_circles(n_samples=100, noise=.05)

written as course2_circles_train.npz and course2_circles_test.npz; and the optimization
notebook's opt_utils.load_dataset():

    np.random.seed(3); train_X, train_Y = sklearn.datasets.make_moons(n_samples=300, noise=.2)

written as course2_moons_train.npz. Needs scikit-learn (pip install scikit-learn); nnctl
itself does not. Existing files are overwritten with the same numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def circles(folder: Path) -> list[Path]:
    """The initialization notebook's train (300) and test (100) circles, in ``folder``."""
    from sklearn.datasets import make_circles

    out = []
    for name, seed, m in (("train", 1, 300), ("test", 2, 100)):
        np.random.seed(seed)  # the notebook's global seed: make_circles draws from it
        X, y = make_circles(n_samples=m, noise=0.05)
        path = folder / f"course2_circles_{name}.npz"
        np.savez(path, x=X, y=y)
        out.append(path)
    return out


def moons(folder: Path) -> list[Path]:
    """The optimization notebook's 300 training moons (it has no test set), in ``folder``."""
    from sklearn.datasets import make_moons

    np.random.seed(3)
    X, y = make_moons(n_samples=300, noise=0.2)
    path = folder / "course2_moons_train.npz"
    np.savez(path, x=X, y=y)
    return [path]


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "data"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = circles(folder) + moons(folder)
    except ImportError:
        print("error: scikit-learn is needed: pip install scikit-learn", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
