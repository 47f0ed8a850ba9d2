"""Image files in and out, and resizing.

Every image this module returns or accepts is a float32 NumPy array of shape
``(height, width, 3)``, RGB, with values in [0, 1]. This is the only library
module that reads or writes image files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tf_style.errors import ImageError, OutputError, first_line
from tf_style.io.files import write_atomically

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


# Images with more pixels than this are refused before they are decoded: Pillow's decompression-bomb
# threshold, about 89 megapixels (a 12-byte-per-pixel float copy of one is a gigabyte).
MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS
# Longer side over shorter side beyond which an image is refused: panoramas reach about 8:1; a strip
# of 1 x 10000 pixels, resized for a network, grows to gigabytes.
MAX_ASPECT_RATIO = 20


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding its pixels.

    Attributes:
        width, height: In pixels, as stored (before any EXIF rotation).
        format: Pillow's name for the format ("JPEG", "PNG", ...).
        frames: How many frames it holds (animated GIF and WebP have several).
    """

    width: int
    height: int
    format: str
    frames: int


def read_image_header(path: str | os.PathLike) -> ImageHeader:
    """Admits an image file: it exists, its header reads, and its size is within the budget.

    Every command admits its images here before decoding them, so a file one
    command refuses, every command refuses.

    Raises:
        ImageError: The file is missing, a directory, empty, not an image, has more
            than `MAX_IMAGE_PIXELS` pixels (a possible decompression bomb), or is
            more elongated than `MAX_ASPECT_RATIO`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageError(f"image not found: {path}")
    if os.path.isdir(path):
        raise ImageError(f"expected an image file, got a directory: {path}")
    if os.path.getsize(path) == 0:
        raise ImageError(f"image file is empty: {path}")
    try:
        with _pillow_guard(path), warnings.catch_warnings():
            # Up to twice its limit Pillow only warns; the size check below then says how large the image is.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                header = ImageHeader(image.width, image.height, image.format or "", getattr(image, "n_frames", 1))
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or a format Pillow cannot read): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(
            f"cannot read image ({first_line(error)}), the file may be truncated or corrupt: {path}"
        ) from None
    check_image_size(header.height, header.width, path)
    return header


def check_image_size(height: int, width: int, name: str) -> None:
    """Raises ImageError for an empty image, more than `MAX_IMAGE_PIXELS` pixels, or a too elongated one.

    Args:
        height, width: The image's size in pixels.
        name: The file or role named in the message.
    """
    if min(height, width) < 1:
        raise ImageError(f"image has no pixels ({width}x{height}): {name}")
    if height * width > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"image has {width}x{height} pixels, more than {MAX_IMAGE_PIXELS:,}; refusing a "
            f"possible decompression bomb: {name}"
        )
    if max(height, width) > MAX_ASPECT_RATIO * min(height, width):
        raise ImageError(f"image is {width}x{height}, more elongated than {MAX_ASPECT_RATIO}:1; crop it first: {name}")


def check_image_array(image, role: str) -> np.ndarray:
    """An in-memory image admitted as `read_image_header` admits files: (H, W, 3), within the size budget.

    Returns:
        The image as a float32 array (a view when it already is one).

    Raises:
        ImageError: another shape, non-finite values, or a size `check_image_size` refuses.
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ImageError(f"{role} must be an (height, width, 3) RGB array, got shape {array.shape}")
    check_image_size(array.shape[0], array.shape[1], role)
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise ImageError(f"{role} has NaN or infinite values")
    return array


def load_image(path: str | os.PathLike, max_size: int | None = None) -> np.ndarray:
    """Reads an image file as an upright RGB float image.

    Grayscale, palette, 16-bit, 32-bit float, CMYK and RGBA files are accepted;
    transparency is composited on white; the EXIF orientation tag is applied, so
    phone photos come out upright. Animated images give their first frame.

    Args:
        path: The image file.
        max_size: If given, the image is shrunk (never enlarged) so that its longer
            side is at most this many pixels. A file much larger than that is
            reduced while it is decoded, so memory follows `max_size`, not the file.

    Returns:
        float32 array, shape (height, width, 3), RGB in [0, 1].

    Raises:
        ImageError: as `read_image_header`, or the file is truncated or corrupt.

    Example:
        >>> photo = load_image("photo.jpg", max_size=512)  # doctest: +SKIP
    """
    array = _decode(path, max_size, lambda image: _to_rgb_float(image, path))
    if max_size is not None and max(array.shape[:2]) > max_size:
        array = resize_image(array, fit_within(array.shape[:2], max_size))
    return array


def load_image_uint8(path: str | os.PathLike, max_size: int | None = None) -> np.ndarray:
    """Reads an image file as upright RGB bytes: `load_image` at a quarter of the memory.

    For whole large pictures (a fast network paints them in tiles): 3 bytes a pixel
    instead of 12. High-bit-depth files are rounded to 8 bits.

    Args:
        path: The image file.
        max_size: As in `load_image`.

    Returns:
        uint8 array, shape (height, width, 3), RGB in 0-255.

    Raises:
        ImageError: as `load_image`.
    """
    header = read_image_header(path)
    if max_size is not None and max(header.width, header.height) > max_size:
        return to_uint8(load_image(path, max_size))

    def as_bytes(image: Image.Image) -> np.ndarray:
        if image.mode in (*_SIXTEEN_BIT_MODES, "F"):
            return to_uint8(_to_rgb_float(image, path))
        if image.mode != "RGB":
            image = _composite_on_white(image).convert("RGB")
        return np.asarray(image, dtype=np.uint8)  # The one copy: Pillow's 4 bytes a pixel to NumPy's 3.

    return _decode(path, None, as_bytes)


@contextlib.contextmanager
def _pillow_guard(path: str):
    """Pillow's decompression-bomb warning as an error, and its error as an ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"image has more than {MAX_IMAGE_PIXELS:,} pixels; refusing a possible decompression bomb: {path}"
        ) from None


def _decode(path: str | os.PathLike, max_size: int | None, convert: Callable[[Image.Image], np.ndarray]) -> np.ndarray:
    """`convert` of the admitted file's first frame, decoded upright (reduced on the way when far above `max_size`).

    The conversion runs while the file is open: Pillow frees a closed image's pixels,
    so converting inside saves copying them first.
    """
    path = os.fspath(path)
    read_image_header(path)
    try:
        with _pillow_guard(path), Image.open(path) as image:
            if max_size is not None:
                image = _reduce_while_decoding(image, max_size)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # A copy only when the photo is rotated.
            return convert(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(
            f"cannot decode image ({first_line(error)}), the file may be truncated or corrupt: {path}"
        ) from None


def _reduce_while_decoding(image: Image.Image, max_size: int) -> Image.Image:
    """`image` at no less than twice `max_size` on its longer side, by whole-number factors.

    JPEG decodes directly at 1/2, 1/4 or 1/8 of its size (`draft`); other formats are
    box-averaged by a whole factor after decoding. An image within twice `max_size`
    is left alone, so the final antialiased resize does all the work there.
    """
    factor = max(image.size) // (2 * max_size)
    if factor < 2:
        return image
    if image.format == "JPEG":
        image.draft(image.mode, (image.width // factor, image.height // factor))
        factor = max(image.size) // (2 * max_size)
        if factor < 2:
            return image
    image.load()
    if image.mode in _SIXTEEN_BIT_MODES:  # Image.reduce takes 32-bit integers, not 16-bit ones.
        image = image.convert("I")
    elif image.mode in ("P", "PA", "1"):
        image = _composite_on_white(image).convert("RGB")
    return image.reduce(factor)


def _composite_on_white(image: Image.Image) -> Image.Image:
    """`image` with any transparency composited on white (RGBA, LA, PA, or a palette with a transparent colour)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return image
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba)


def _to_rgb_float(image: Image.Image, path: str | os.PathLike) -> np.ndarray:
    """Converts any Pillow mode to float32 RGB in [0, 1], compositing alpha on white.

    Integer modes of more than 8 bits are read as 16-bit (0-65535). Floating-point
    images (mode "F") are taken as [0, 1] when they fit, else as 0-255 or 0-65535,
    whichever their largest value fits; other ranges are refused, not guessed.
    """
    if image.mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1)
    if image.mode == "F":
        gray = np.asarray(image, dtype=np.float32)
        if not np.isfinite(gray).all():
            raise ImageError(f"floating-point image with NaN or infinite values: {os.fspath(path)}")
        peak = float(gray.max(initial=0.0))
        scale = next((top for top in (1.0, 255.0, 65535.0) if peak <= top), None)
        if scale is None or float(gray.min(initial=0.0)) < 0.0:
            raise ImageError(
                f"floating-point image with values from {gray.min():g} to {peak:g}, outside the "
                f"ranges [0, 1], 0-255 and 0-65535 of pictures: {os.fspath(path)}"
            )
        return np.repeat((gray / scale)[..., None], 3, axis=-1)
    rgb = _composite_on_white(image).convert("RGB")
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


def check_image_output(path: str | os.PathLike) -> None:
    """Raises OutputError unless `path` ends in an extension `save_image` writes."""
    if os.path.splitext(os.fspath(path))[1].lower() not in _SAVE_FORMATS:
        raise OutputError(
            f"unknown image extension for {os.fspath(path)}; use one of {', '.join(sorted(_SAVE_FORMATS))}"
        )


def save_image(image: np.ndarray, path: str | os.PathLike, overwrite: bool = False, quality: int = 95) -> None:
    """Writes an image atomically: a temporary file in the same folder, then a rename.

    A reader never sees a half-written file, and an existing file is only
    replaced once the new one is complete.

    Args:
        image: float array (H, W, 3), RGB in [0, 1] (values outside are clipped), or
            uint8 (H, W, 3) in 0-255.
        path: Destination; the format follows the extension (.png, .jpg, .webp, ...).
        overwrite: Replace an existing file. Without it an existing file is an error.
        quality: JPEG/WebP quality.

    Raises:
        OutputError: The folder is missing or not writable, the extension is
            unknown, or the file exists and `overwrite` is False.
    """
    path = os.fspath(path)
    check_image_output(path)
    format_name = _SAVE_FORMATS[os.path.splitext(path)[1].lower()]
    pixels = to_uint8(image)
    options = {"quality": quality} if format_name in ("JPEG", "WEBP") else {}
    write_atomically(
        path, lambda file: Image.fromarray(pixels, "RGB").save(file, format_name, **options), overwrite=overwrite
    )


def to_uint8(image: np.ndarray) -> np.ndarray:
    """RGB bytes of an image: uint8 as it is, floats in [0, 1] rounded (values outside are clipped)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return (np.clip(image.astype(np.float32, copy=False), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
