"""Image files in and out, and resizing.

Every image this module returns or accepts is a float32 NumPy array of shape
``(height, width, 3)``, RGB, with values in [0, 1]. This is the only library
module that reads or writes image files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tf_style.errors import ImageError, OutputError
from tf_style.io.files import one_line, write_atomically

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
_SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
IMAGE_EXTENSIONS = tuple(_SAVE_FORMATS)  # What load_image reads and save_image writes.


def load_image(path: str | os.PathLike, max_size: int | None = None) -> np.ndarray:
    """Reads an image file as an upright RGB float image.

    Grayscale, palette, 16-bit, CMYK and RGBA files are accepted; transparency is
    composited on white; the EXIF orientation tag is applied, so phone photos come
    out upright.

    Args:
        path: The image file.
        max_size: If given, the image is shrunk (never enlarged) so that its longer
            side is at most this many pixels.

    Returns:
        float32 array, shape (height, width, 3), RGB in [0, 1].

    Raises:
        ImageError: The file is missing, a directory, empty, not an image,
            truncated, or has more pixels than Pillow's decompression-bomb
            limit (`PIL.Image.MAX_IMAGE_PIXELS`).

    Example:
        >>> photo = load_image("photo.jpg", max_size=512)  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageError(f"image not found: {path}")
    if os.path.isdir(path):
        raise ImageError(f"expected an image file, got a directory: {path}")
    if os.path.getsize(path) == 0:
        raise ImageError(f"image file is empty: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image)
                array = _to_rgb_float(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's guard (warning turned into an error above): more pixels than
        # Image.MAX_IMAGE_PIXELS means a tiny file could expand to gigabytes.
        raise ImageError(
            f"image has more than {Image.MAX_IMAGE_PIXELS:,} pixels; refusing a possible decompression bomb: {path}"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or a format Pillow cannot read): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(
            f"cannot decode image ({one_line(error)}), the file may be truncated or corrupt: {path}"
        ) from None
    if max_size is not None and max(array.shape[:2]) > max_size:
        array = resize_image(array, fit_within(array.shape[:2], max_size))
    return array


def _to_rgb_float(image: Image.Image) -> np.ndarray:
    """Converts any Pillow mode to float32 RGB in [0, 1], compositing alpha on white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    rgb = image.convert("RGB")
    return np.asarray(rgb, dtype=np.float32) / 255.0


def fit_within(shape: Sequence[int], max_size: int) -> tuple[int, int]:
    """Returns (height, width) scaled so that the longer side equals `max_size`."""
    height, width = shape[0], shape[1]
    scale = max_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_image(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resizes an (H, W, 3) [0, 1] image to `size` = (height, width).

    Shrinking is antialiased (no aliasing of fine texture); enlarging is bicubic.
    The result is clipped to [0, 1].
    """
    import tensorflow as tf  # Deferred: keeps `load_image` usable without starting TensorFlow.

    height, width = int(size[0]), int(size[1])
    if image.shape[:2] == (height, width):
        return image.astype(np.float32, copy=False)
    resized = tf.image.resize(image, (height, width), method="bicubic", antialias=True)
    return np.clip(resized.numpy(), 0.0, 1.0).astype(np.float32)


def save_image(image: np.ndarray, path: str | os.PathLike, overwrite: bool = False, quality: int = 95) -> None:
    """Writes an image atomically: a temporary file in the same folder, then a rename.

    A reader never sees a half-written file, and an existing file is only
    replaced once the new one is complete.

    Args:
        image: float array (H, W, 3), RGB in [0, 1] (values outside are clipped).
        path: Destination; the format follows the extension (.png, .jpg, .webp, ...).
        overwrite: Replace an existing file. Without it an existing file is an error.
        quality: JPEG/WebP quality.

    Raises:
        OutputError: The folder is missing or not writable, the extension is
            unknown, or the file exists and `overwrite` is False.
    """
    path = os.fspath(path)
    format_name = _SAVE_FORMATS.get(os.path.splitext(path)[1].lower())
    if format_name is None:
        raise OutputError(f"unknown image extension for {path}; use one of {', '.join(sorted(_SAVE_FORMATS))}")
    pixels = (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    options = {"quality": quality} if format_name in ("JPEG", "WEBP") else {}
    write_atomically(
        path, lambda file: Image.fromarray(pixels, "RGB").save(file, format_name, **options), overwrite=overwrite
    )
