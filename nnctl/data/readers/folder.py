"""Image folders, the layout of Keras' ``image_dataset_from_directory`` and torchvision's
``ImageFolder``: one subfolder per class (class names are the subfolder names, sorted), images
directly inside each. Every file goes through ``nnctl.data.images.load_image``, the pipeline
``predict`` uses, so a training image and the same file given to predict become the same
column. Files are decoded in parallel threads (Pillow releases the GIL while decoding)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.images import ImageError, list_images, load_image
from nnctl.data.readers.base import RawSplit, ReadOptions, check_data_array
from nnctl.system import DataError

COLORS = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}


def class_folders(path: Path) -> list[Path]:
    """The class subfolders of an image folder, sorted by name (never the order the filesystem
    returns), hidden ones skipped. Raises DataError when there are none."""
    try:
        subs = sorted(
            (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise DataError(f"{path}: cannot list: {exc.strerror or exc}") from None
    if not subs:
        loose = "; it holds images directly" if list_images(path) else ""
        raise DataError(
            f"{path}: no class subfolders{loose}; put the images of each class in its own "
            f"subfolder, e.g. {path / 'cat'}/, {path / 'dog'}/"
        )
    return subs


def class_name(folder: Path) -> str:
    """A class folder's name as its class: a name that is not UTF-8 has its undecodable bytes
    written \\xNN, so the class can be shown, saved in JSON and HDF5, and matched by a test
    folder of the same name (a UTF-8 name is itself)."""
    return os.fsencode(folder.name).decode("utf-8", "backslashreplace")


def list_examples(path: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(classes, [(file, class index)]) of an image folder, in class then file-name order.
    Raises DataError for a class folder with no image."""
    classes, files = [], []
    for k, sub in enumerate(class_folders(path)):
        found = list_images(sub)
        if not found:
            raise DataError(
                f"{sub}: no images in this class folder (hidden files and non-image "
                "suffixes are ignored)"
            )
        classes.append(class_name(sub))
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
        except Exception as exc:
            if skip_bad:
                continue
            what = (
                "not an image file Pillow can read"
                if isinstance(exc, UnidentifiedImageError)
                else f"cannot read image: {exc}"
            )
            raise DataError(
                f"{path}: {what} (set dataset.skip_bad: true to skip unreadable files)"
            ) from None
    raise DataError(
        f"{files[0].parent.parent}: no readable image to take the size from; set dataset.size"
    )


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
    check_data_array(
        f"{path}: {len(files)} images of {shape}", (len(files), *shape), np.dtype(np.uint8)
    )
    # one window of all the files: x is the decoding buffer itself
    [(x, labels, kept, bad)] = list(
        decode_windows(
            files, shape, mode, bool(options.spec.get("skip_bad")), len(files), options.on_progress
        )
    )
    for message in bad:
        options.warnings.append(f"skipped {message}")
    if bad:
        options.warnings.append(f"{path}: skipped {len(bad)} unreadable file(s) of {len(files)}")
    y = np.array(labels, dtype=np.int64)
    for k, name in enumerate(classes):
        if not np.any(y == k):
            raise DataError(f"{path / name}: no readable images in this class folder")
    raw = RawSplit(x, y, classes, path, "images", "class folders")
    raw.named = True
    raw.files = kept
    return raw


def decode_windows(
    files: list[tuple[Path, int]],
    shape: tuple[int, int, int],
    mode: str,
    skip_bad: bool,
    window: int,
    on_progress: Any = None,
    hint: str = "set dataset.skip_bad: true to skip unreadable files",
) -> Iterator[tuple[np.ndarray, list[int], list[Path], list[str]]]:
    """Decodes ``files`` ((file, class index), in order) through ``images.load_image`` in
    threads, ``window`` files at a time. Yields per window (images: (k, *shape) uint8, a view of
    one buffer that the next window reuses; their class indices; their files; the messages of
    the files skipped). An unreadable file raises DataError ending with ``hint`` unless
    ``skip_bad``. ``on_progress(done, total)`` after each file."""
    n = len(files)
    buf = np.empty((max(1, min(window, n)), *shape), dtype=np.uint8)
    done = 0
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for a in range(0, n, window):
            part = files[a : a + window]
            futures = [pool.submit(load_image, f, shape, mode) for f, _ in part]
            k, labels, kept, bad = 0, [], [], []
            for (f, label), fut in zip(part, futures):
                try:
                    buf[k] = fut.result()
                except ImageError as exc:
                    if not skip_bad:
                        for rest in futures:
                            rest.cancel()
                        raise DataError(f"{exc} ({hint})") from None
                    bad.append(str(exc))
                else:
                    labels.append(label)
                    kept.append(f)
                    k += 1
                done += 1
                if on_progress is not None:
                    on_progress(done, n)
            yield buf[:k], labels, kept, bad


def folder_digest(files: list[Path], root: Path) -> str:
    """sha256 over each file's path (relative to ``root``) and contents, in order."""
    h = hashlib.sha256()
    for f in files:
        # the name's bytes as on disk: the same as its UTF-8 for a decodable name, and no
        # UnicodeEncodeError for one that is not (Python holds its bytes as surrogates)
        h.update(os.fsencode(f.relative_to(root)) + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
