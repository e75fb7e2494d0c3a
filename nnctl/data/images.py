"""Reading image files the way the training data looks: any file Pillow can read, of any size
and mode, becomes one raw example shaped like the run's ``preprocessing.input_shape`` (uint8,
e.g. (64, 64, 3)); ``data.prepare_x`` then flattens and scales it exactly as in training.

Steps: EXIF orientation, 16-bit values scaled (not clipped) to 8 bits, transparency
composited onto white, conversion to the run's colour mode, antialiased resize (only when the
size differs). Pillow's decompression-bomb warning is an error here, and truncated files are
refused (never padded with grey).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from nnctl.system import DataError

if TYPE_CHECKING:
    from PIL import Image

WHITE = (255, 255, 255, 255)
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class ImageError(DataError):
    """One input file cannot be used as an image; the message names the file."""


def image_suffixes() -> set[str]:
    """File name suffixes of formats Pillow can open (lower case, with the dot); formats it can
    only write, such as PDF, are left out."""
    from PIL import Image

    return {ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def list_images(directory: Path) -> list[Path]:
    """The image files directly inside ``directory`` (by suffix, hidden files skipped), sorted."""
    suffixes = image_suffixes()
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


def _eight_bit(im: Image.Image) -> Image.Image:
    """16-bit grayscale (modes I;16*, and I as PNG decodes it) -> L, scaled by 255/65535 and
    rounded. A plain ``convert('L')`` clips instead, turning most 16-bit images white."""
    from PIL import Image

    a = np.asarray(im, dtype=np.float64)
    a = np.clip(a, 0, 65535) * (255.0 / 65535.0)
    return Image.fromarray(np.rint(a).astype(np.uint8), "L")


def to_mode(im: Image.Image, mode: str) -> Image.Image:
    """Converts a loaded image to ``mode`` ('RGB', 'L' or 'RGBA'): 16-bit scaled to 8 bits,
    transparent pixels composited onto white unless ``mode`` keeps alpha."""
    from PIL import Image

    if im.mode in SIXTEEN_BIT_MODES:
        im = _eight_bit(im)
    elif im.mode == "F":
        raise ValueError(
            "floating-point image (mode F) has no fixed value range; save it with 8 or 16 bits"
        )
    has_alpha = im.mode in ALPHA_MODES or "transparency" in im.info
    if has_alpha and mode != "RGBA":
        # RGBA first: Pillow resolves palette/colour-key transparency into an alpha channel.
        im = Image.alpha_composite(Image.new("RGBA", im.size, WHITE), im.convert("RGBA"))
    return im if im.mode == mode else im.convert(mode)


def load_image(path: Path | BinaryIO, input_shape: tuple[int, ...], mode: str) -> np.ndarray:
    """One image file (a path, or a file object such as the bytes of standard input, which
    messages name by its ``str``) -> uint8 array of ``input_shape`` (H, W), (H, W, 1) or
    (H, W, C).

    Raises ImageError naming the file: not an image, truncated, a decompression bomb (over
    ``PIL.Image.MAX_IMAGE_PIXELS``), or a mode that cannot be converted.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from nnctl.system import NotRegularFile, open_regular

    height, width = input_shape[0], input_shape[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # A FIFO or device would block or never end: the path is first opened without
            # blocking and checked to be a regular file. Pillow then opens it by name, which
            # lets it load only the plugin for the file's extension (a file object makes it
            # import every common plugin: docs/developers/measured-data.md); the file can be
            # swapped only by someone who can write to its folder, between two opens
            # microseconds apart.
            # a file object (standard input's bytes) is already in memory: nothing to check
            checked = contextlib.nullcontext() if hasattr(path, "read") else open_regular(path)
            with checked, Image.open(path) as im:
                im.load()  # decode now: a truncated file fails here, not later
                im = ImageOps.exif_transpose(im)
                im = to_mode(im, mode)
                if im.size != (width, height):
                    im = im.resize((width, height), Image.Resampling.LANCZOS)
                arr = np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory") from None
    except NotRegularFile as exc:
        raise ImageError(f"{path}: {exc.strerror}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: refused as a possible decompression bomb: {exc}") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except Exception as exc:
        raise ImageError(f"{path}: cannot read image: {exc}") from None
    return arr.reshape(input_shape)
