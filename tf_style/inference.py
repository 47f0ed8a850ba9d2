"""Running a trained transform network on photos: strength, colours, large images by tiles.

Images are float32 (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from tf_style.errors import ConfigError, ModelError
from tf_style.export import MIN_INPUT_SIZE, TFLiteRunner, load_keras_model
from tf_style.images import transfer_luminance

APPLY_COLOR_MODES = ("none", "luminance")
SAVED_MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "saved_models")

StyleFunction = Callable[[np.ndarray], np.ndarray]


def shipped_styles() -> list[str]:
    """Names of the styles in the repository's ``saved_models/`` (empty when it is absent)."""
    if not os.path.isdir(SAVED_MODELS_DIR):
        return []
    return sorted(name for name in os.listdir(SAVED_MODELS_DIR)
                  if os.path.isfile(os.path.join(SAVED_MODELS_DIR, name, f"{name}.keras")))


def resolve_model_path(model: str, precision: str = "int8") -> str:
    """`model` itself when it is a file path; for a shipped style's name, its model file.

    Args:
        model: A ``.keras``/``.tflite`` path, or the name of a style in ``saved_models/``.
        precision: For a style name: "int8" or "fp16" (TFLite), or "keras".
    """
    if os.path.splitext(model)[1] or os.sep in model or model not in shipped_styles():
        return model
    file_name = f"{model}.keras" if precision == "keras" else f"{model}_{precision}.tflite"
    return os.path.join(SAVED_MODELS_DIR, model, file_name)


def load_style_model(path: str, num_threads: int | None = None) -> StyleFunction:
    """A function that stylises one image with the model in `path`.

    Args:
        path: A ``.keras`` file (run with TensorFlow) or a ``.tflite`` file (run
            with the LiteRT interpreter).
        num_threads: CPU threads for TFLite; None for its default.

    Returns:
        ``f(image) -> stylized_image``, both float32 (H, W, 3) in [0, 1].

    Raises:
        ModelError: missing, empty, corrupt or wrong-kind model file.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension == ".tflite":
        return TFLiteRunner.from_file(path, num_threads=num_threads)
    if extension == ".keras":
        model = load_keras_model(path)
        return lambda image: np.asarray(model(np.asarray(image, np.float32)[None], training=False))[0]
    if not extension and os.sep not in path:
        raise ModelError(f"{path!r} is neither a model file nor a shipped style; shipped styles: "
                         f"{', '.join(shipped_styles()) or f'none found in {SAVED_MODELS_DIR}'}")
    raise ModelError(f"model must be a .keras or .tflite file: {path}")


def tile_starts(length: int, tile_size: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile_size` covering `length` with at least `overlap` in common."""
    if length <= tile_size:
        return [0]
    count = int(np.ceil((length - overlap) / (tile_size - overlap)))
    return [round(index * (length - tile_size) / (count - 1)) for index in range(count)]


def _ramp(length: int, start: int, end: int, total: int, overlap: int) -> np.ndarray:
    """Blend weights along one axis: rising over `overlap` pixels at inner edges, 1 elsewhere."""
    weights = np.ones(end - start, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if end < total:
        weights[-overlap:] = np.minimum(weights[-overlap:], ramp[::-1])
    return weights


def run_tiled(style_function: StyleFunction, image: np.ndarray, tile_size: int, overlap: int = 64) -> np.ndarray:
    """Stylises `image` in overlapping square tiles blended with linear (feathered) weights.

    Each pixel of an overlap is a weighted mean of the tiles covering it, the
    weights falling linearly to zero towards each tile's inner edges, so there
    is no seam and no grid.

    Args:
        style_function: Stylises one (h, w, 3) image.
        image: float32 (H, W, 3) in [0, 1].
        tile_size: Side of the tiles; an image within it runs whole.
        overlap: Pixels neighbouring tiles share.

    Returns:
        float32 (H, W, 3) in [0, 1].
    """
    if tile_size < 2 * overlap or overlap < 1:
        raise ConfigError(f"tile size {tile_size} must be at least twice the overlap {overlap} (>= 1)")
    height, width = image.shape[:2]
    if height <= tile_size and width <= tile_size:
        return style_function(image)
    total = np.zeros(image.shape, np.float32)
    weight_sum = np.zeros(image.shape[:2] + (1,), np.float32)
    for top in tile_starts(height, tile_size, overlap):
        bottom = min(top + tile_size, height)
        for left in tile_starts(width, tile_size, overlap):
            right = min(left + tile_size, width)
            tile = style_function(image[top:bottom, left:right])
            weights = np.outer(_ramp(bottom - top, top, bottom, height, overlap),
                               _ramp(right - left, left, right, width, overlap))[..., None]
            total[top:bottom, left:right] += tile * weights
            weight_sum[top:bottom, left:right] += weights
    return total / weight_sum


def apply_style(style_function: StyleFunction, image: np.ndarray, strength: float = 1.0,
                preserve_colors: str = "none", tile_size: int | None = None, overlap: int = 64) -> np.ndarray:
    """Paints a photo with a trained network.

    Args:
        style_function: From ``load_style_model``.
        image: float32 (H, W, 3) RGB in [0, 1], at least 8 pixels on each side.
        strength: 1 for the network's picture, 0 for the photo; in between blends them.
        preserve_colors: "none", or "luminance" to keep the photo's colours.
        tile_size: Run in overlapping tiles of this side when the image is larger
            (bounded memory and latency); None runs the whole image at once.
        overlap: Overlap of neighbouring tiles in pixels.

    Returns:
        float32 (H, W, 3) in [0, 1].

    Raises:
        ConfigError: strength outside [0, 1], unknown colour mode, an image too small.
    """
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength must be between 0 and 1, got {strength!r}")
    if preserve_colors not in APPLY_COLOR_MODES:
        raise ConfigError(f"preserve_colors must be one of {', '.join(APPLY_COLOR_MODES)}, got {preserve_colors!r}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_INPUT_SIZE:
        raise ConfigError(f"image is {width}x{height}; the network needs at least {MIN_INPUT_SIZE} pixels "
                          "on each side")
    image = np.asarray(image, np.float32)
    stylized_image = (style_function(image) if tile_size is None
                      else run_tiled(style_function, image, tile_size, overlap))
    if preserve_colors == "luminance":
        stylized_image = transfer_luminance(stylized_image, image)
    blended = strength * stylized_image + (1.0 - strength) * image
    return np.clip(blended, 0.0, 1.0).astype(np.float32)
