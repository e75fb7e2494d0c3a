"""Image folders, the layout of Keras' ``image_dataset_from_directory`` and torchvision's
``ImageFolder``: one subfolder per class (class names are the subfolder names, sorted), images
directly inside each. Every file goes through ``nnctl.images.load_image``, the pipeline
``predict`` uses, so a training image and the same file given to predict become the same
column. Files are decoded in parallel threads (Pillow releases the GIL while decoding)."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nnctl.errors import DataError
from nnctl.images import ImageError, list_images, load_image
from nnctl.readers.base import RawSplit, ReadOptions, check_declared

COLORS = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}


def class_folders(path: Path) -> list[Path]:
    """The class subfolders of an image folder, sorted by name (never the order the filesystem
    returns), hidden ones skipped. Raises DataError when there are none."""
    try:
        subs = sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
    except OSError as exc:
        raise DataError(f"{path}: cannot list: {exc.strerror or exc}") from None
    if not subs:
        loose = "; it holds images directly" if list_images(path) else ""
        raise DataError(f"{path}: no class subfolders{loose}; put the images of each class in its own "
                        f"subfolder, e.g. {path / 'cat'}/, {path / 'dog'}/")
    return subs


def list_examples(path: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(classes, [(file, class index)]) of an image folder, in class then file-name order.
    Raises DataError for a class folder with no image."""
    classes, files = [], []
    for k, sub in enumerate(class_folders(path)):
        found = list_images(sub)
        if not found:
            raise DataError(f"{sub}: no images in this class folder (hidden files and non-image "
                            "suffixes are ignored)")
        classes.append(sub.name)
        files += [(f, k) for f in found]
    return classes, files


def first_size(files: list[Path], skip_bad: bool) -> tuple[int, int]:
    """(height, width) of the first readable image as it is shown (EXIF orientation applied);
    with ``skip_bad``, unreadable files before it are passed over. Raises DataError."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    for path in files:
        try:
            with Image.open(path) as im:
                w, h = ImageOps.exif_transpose(im).size
            return h, w
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for damaged files
            if skip_bad:
                continue
            what = "not an image file Pillow can read" if isinstance(exc, UnidentifiedImageError) else \
                f"cannot read image: {exc}"
            raise DataError(f"{path}: {what} (set dataset.skip_bad: true to skip unreadable files)") from None
    raise DataError(f"{files[0].parent.parent}: no readable image to take the size from; set dataset.size")


def input_shape(spec: dict, files: list[Path]) -> tuple[tuple[int, int, int], str]:
    """(input shape (height, width, channels), Pillow mode) from ``size`` and ``color``; size
    defaults to the first image's."""
    mode, channels = COLORS[spec.get("color") or "rgb"]
    size = spec.get("size")
    h, w = (size[0], size[1]) if size else first_size(files, bool(spec.get("skip_bad")))
    return (int(h), int(w), channels), mode


def read_folder(path: Path, options: ReadOptions) -> RawSplit:
    """x: (m, height, width, channels) uint8, y: (m,) class indices into the sorted class names."""
    classes, files = list_examples(path)
    shape, mode = input_shape(options.spec, [f for f, _ in files])
    check_declared(f"{path}: {len(files)} images of {shape}", (len(files), *shape), np.dtype(np.uint8))
    x = np.empty((len(files), *shape), dtype=np.uint8)
    ok = np.ones(len(files), dtype=bool)
    bad: list[str] = []
    done = 0
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(load_image, f, shape, mode) for f, _ in files]
        for i, fut in enumerate(futures):
            try:
                x[i] = fut.result()
            except ImageError as exc:
                if not options.spec.get("skip_bad"):
                    for rest in futures[i + 1:]:
                        rest.cancel()
                    raise DataError(f"{exc} (set dataset.skip_bad: true to skip unreadable files)") from None
                ok[i] = False
                bad.append(str(exc))
            done += 1
            if options.on_progress is not None:
                options.on_progress(done, len(files))
    for message in bad:
        options.warnings.append(f"skipped {message}")
    if bad:
        options.warnings.append(f"{path}: skipped {len(bad)} unreadable file(s) of {len(files)}")
    y = np.array([k for _, k in files], dtype=np.int64)[ok]
    x = x[ok] if bad else x
    kept = [f for (f, _), good in zip(files, ok) if good]
    for k, name in enumerate(classes):
        if not np.any(y == k):
            raise DataError(f"{path / name}: no readable images in this class folder")
    raw = RawSplit(x, y, classes, path, "images", "class folders")
    raw.named = True
    raw.files = kept
    return raw


def folder_digest(files: list[Path], root: Path) -> str:
    """sha256 over each file's path (relative to ``root``) and contents, in order."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
