"""Painting photos with a trained network: loading it, strength, colours, large images by tiles.

Images are float32 (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

import os

import numpy as np

from tf_style.color import transfer_luminance
from tf_style.errors import ConfigError, ModelError
from tf_style.inference import registry
from tf_style.inference.runners import KerasRunner, TFLiteRunner
from tf_style.inference.tiles import StyleFunction, run_tiled
from tf_style.networks.signatures import MIN_IMAGE_SIZE

APPLY_COLOR_MODES = ("none", "luminance")


def load_style_model(model: str, num_threads: int | None = None, variant: str = "int8") -> StyleFunction:
    """A function that paints one image with a network.

    Args:
        model: A ``.keras`` file (run with TensorFlow), a ``.tflite`` file (run
            with the LiteRT interpreter), or a shipped style's name (see
            `tf_style.inference.registry.shipped_styles`).
        num_threads: CPU threads for TFLite; None for its default.
        variant: For a shipped style's name, which of its files: "int8" or
            "fp16" (TFLite), or "keras".

    Returns:
        ``f(image) -> stylized_image``, both float32 (H, W, 3) in [0, 1].

    Raises:
        ModelError: missing, empty, corrupt or wrong-kind model file, or an unknown style.

    Example:
        >>> paint = load_style_model("starry_night")  # doctest: +SKIP
        >>> stylized_image = paint(photo)  # doctest: +SKIP
    """
    path = registry.resolve_model_path(model, variant)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".tflite":
        return TFLiteRunner.from_file(path, num_threads=num_threads)
    if extension == ".keras":
        from tf_style.networks.saving import load_keras_model  # Starts TensorFlow: only for Keras files.

        return KerasRunner(load_keras_model(path))
    raise ModelError(f"model must be a .keras or .tflite file: {path}")


def apply_style(
    style_function: StyleFunction,
    image: np.ndarray,
    strength: float = 1.0,
    preserve_colors: str = "none",
    tile_size: int | None = None,
    overlap: int = 64,
) -> np.ndarray:
    """Paints a photo with a trained network.

    Args:
        style_function: From `load_style_model`.
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
    if min(height, width) < MIN_IMAGE_SIZE:
        raise ConfigError(f"image is {width}x{height}; the network needs at least {MIN_IMAGE_SIZE} pixels on each side")
    image = np.asarray(image, np.float32)
    stylized_image = (
        style_function(image) if tile_size is None else run_tiled(style_function, image, tile_size, overlap)
    )
    if preserve_colors == "luminance":
        stylized_image = transfer_luminance(stylized_image, image)
    blended = strength * stylized_image + (1.0 - strength) * image
    return np.clip(blended, 0.0, 1.0).astype(np.float32)
