"""Image files in and out, resizing, and colour transfer.

Every image this module returns or accepts is a float32 NumPy array of shape
``(height, width, 3)``, RGB, with values in [0, 1]. This is the only library
module that reads or writes image files.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tf_style.errors import ImageError, OutputError

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
_SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                 ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
IMAGE_EXTENSIONS = tuple(_SAVE_FORMATS)  # What load_image reads and save_image writes.
# Colour statistics are estimated from at most this many pixels, on a regular grid: they settle
# long before that, and the full 12 megapixels of a large scan took 1.4 s.
_STATISTICS_PIXELS = 2 ** 18


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
        raise ImageError(f"image has more than {Image.MAX_IMAGE_PIXELS:,} pixels; refusing a "
                         f"possible decompression bomb: {path}") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or a format Pillow cannot read): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"cannot decode image ({_one_line(error)}), the file may be truncated "
                         f"or corrupt: {path}") from None
    if max_size is not None and max(array.shape[:2]) > max_size:
        array = resize_image(array, fit_within(array.shape[:2], max_size))
    return array


def _to_rgb_float(image: Image.Image) -> np.ndarray:
    """Converts any Pillow mode to float32 RGB in [0, 1], compositing alpha on white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    rgb = image.convert("RGB")
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


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


def save_image(image: np.ndarray, path: str | os.PathLike, overwrite: bool = False,
               quality: int = 95) -> None:
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
        raise OutputError(f"unknown image extension for {path}; use one of "
                          f"{', '.join(sorted(_SAVE_FORMATS))}")
    pixels = (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    options = {"quality": quality} if format_name in ("JPEG", "WEBP") else {}
    write_atomically(path, lambda file: Image.fromarray(pixels, "RGB").save(file, format_name, **options),
                     overwrite=overwrite)


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Raises OutputError unless `path` could be written now (checked before long work).

    Raises:
        OutputError: the folder is missing or not writable, `path` is a directory,
            or `path` exists and `overwrite` is False.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"output path is a directory: {path}")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder is not writable: {folder}")
    if os.path.exists(path) and not overwrite:
        raise OutputError(f"output file exists (pass --overwrite to replace it): {path}")


def write_atomically(path: str | os.PathLike, write, overwrite: bool = False) -> None:
    """Calls `write(file_object)` on a temporary file beside `path`, then renames it.

    Raises:
        OutputError: as `check_writable`, or when the write itself fails.
    """
    path = os.fspath(path)
    check_writable(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
        with os.fdopen(descriptor, "wb") as file:
            write(file)
        os.chmod(temporary, 0o644)
        if not overwrite and os.path.exists(path):  # Appeared while we wrote.
            raise OutputError(f"output file exists (pass --overwrite to replace it): {path}")
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {_one_line(error)}") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


# Colour transfer ---------------------------------------------------------------

# ITU-R BT.601 luma and the YIQ chroma axes.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]], dtype=np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def transfer_luminance(stylized_image: np.ndarray, content_image: np.ndarray) -> np.ndarray:
    """Keeps the content's colours and takes only the brightness of the stylised picture.

    The luminance-only transfer of Gatys et al., "Preserving Color in Neural
    Artistic Style Transfer" (2016): Y of the stylised image, I and Q of the content.
    Both inputs are (H, W, 3) RGB in [0, 1] of the same size; so is the result.
    """
    stylized_yiq = stylized_image @ _RGB_TO_YIQ.T
    content_yiq = content_image @ _RGB_TO_YIQ.T
    combined = np.concatenate([stylized_yiq[..., :1], content_yiq[..., 1:]], axis=-1)
    return np.clip(combined @ _YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def match_color_histogram(source_image: np.ndarray, reference_image: np.ndarray) -> np.ndarray:
    """Recolours `source_image` so its colour mean and covariance equal the reference's.

    The linear colour transfer of Gatys et al. (2016), used to give the style image
    the content's palette before style transfer (and, for ``init="recolored_content"``,
    the photo the painting's). See `match_color_statistics`.

    Args:
        source_image: (H, W, 3) RGB in [0, 1], the image to recolour.
        reference_image: (H', W', 3) RGB in [0, 1], whose colours to take.

    Returns:
        (H, W, 3) RGB in [0, 1].
    """
    return match_color_statistics(source_image, *color_statistics([reference_image]))


def color_statistics(images: Sequence[np.ndarray],
                     weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3,) and covariance (3, 3) of the RGB pixels of one or several images.

    Several images with `weights` (normalised to sum to 1) give the statistics
    of their mixture: each image contributes its weight, whatever its size.
    Images are (H, W, 3) RGB in [0, 1]; one larger than 2^18 pixels is sampled
    on a regular grid of about that many.
    """
    weights = np.ones(len(images)) if weights is None else np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    pixels = [_grid_sample(image).reshape(-1, 3).astype(np.float64) for image in images]
    means = [values.mean(0) for values in pixels]
    mean = sum(weight * image_mean for weight, image_mean in zip(weights, means))
    second_moment = sum(weight * (np.cov(values, rowvar=False, bias=True) + np.outer(image_mean, image_mean))
                        for weight, values, image_mean in zip(weights, pixels, means))
    return mean, second_moment - np.outer(mean, mean)


def _grid_sample(image: np.ndarray) -> np.ndarray:
    """Every k-th row and column of `image`, with k the smallest keeping at most _STATISTICS_PIXELS."""
    stride = max(1, math.ceil(math.sqrt(image.shape[0] * image.shape[1] / _STATISTICS_PIXELS)))
    return image[::stride, ::stride]


def match_color_statistics(source_image: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Recolours `source_image` (H, W, 3) RGB in [0, 1] to the given colour mean and covariance.

    With S the source's covariance and R the target's, each pixel p becomes
    R^1/2 S^-1/2 (p - mean_s) + mean, the matrix square roots taken by
    eigendecomposition (3 x 3, so NumPy is enough). Returns (H, W, 3) in [0, 1].
    """
    source_mean, source_cov = color_statistics([source_image])
    eps = 1e-5 * np.eye(3)
    transform = _matrix_power(covariance + eps, 0.5) @ _matrix_power(source_cov + eps, -0.5)
    matched = (source_image.reshape(-1, 3).astype(np.float64) - source_mean) @ transform.T + mean
    return np.clip(matched.reshape(source_image.shape), 0.0, 1.0).astype(np.float32)


def _matrix_power(symmetric: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.maximum(values, 1e-12) ** power) @ vectors.T
