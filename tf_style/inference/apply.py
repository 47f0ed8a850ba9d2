"""Painting photos with a trained network: loading it, strength, colours, large images by tiles.

Images are (H, W, 3) RGB, float32 in [0, 1] or uint8 in 0-255.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import numpy as np

from tf_style.color import transfer_luminance
from tf_style.errors import ConfigError, ModelError
from tf_style.inference import registry
from tf_style.inference.runners import KerasRunner, TFLiteRunner
from tf_style.inference.styles import style_weights_row
from tf_style.inference.tiles import StyleFunction, as_float, paint_bands
from tf_style.io.images import to_uint8
from tf_style.networks.signatures import MIN_IMAGE_SIZE, STYLE_WEIGHTS_NAME

APPLY_COLOR_MODES = ("none", "luminance")


def load_style_model(
    model: str,
    num_threads: int | None = None,
    variant: str = "int8",
    style: str | None = None,
    style_weights: Mapping[str, float] | None = None,
) -> StyleFunction:
    """A function that paints one image with a network, checked on a small image first.

    Args:
        model: A ``.keras`` file (run with TensorFlow), a ``.tflite`` file (run
            with the LiteRT interpreter), or the name of a shipped style or
            multi-style network (see `tf_style.inference.registry`).
        num_threads: CPU threads for TFLite; None for its default.
        variant: For a shipped name, which of its files: "int8" or "fp16"
            (TFLite), or "keras".
        style: For a multi-style network: the style to paint, by name. A file
            without names (a TFLite file away from its model card, a Keras file
            saved without them) calls its styles "0", "1", ...
        style_weights: For a multi-style network, instead of `style`: {style name:
            weight >= 0}, normalised to sum 1, to blend styles.

    Returns:
        ``f(image) -> stylized_image``, both float32 (H, W, 3) in [0, 1].

    Raises:
        ModelError: missing, empty, corrupt or wrong-kind model file, an unknown
            name, or a model that fails on an image of the smallest size or gives
            another shape or non-finite values.
        ConfigError: a multi-style network without `style` or `style_weights`
            (or with both, or an unknown style), or either for a one-style network.

    Example:
        >>> paint = load_style_model("starry_night")  # doctest: +SKIP
        >>> stylized_image = paint(photo)  # doctest: +SKIP
        >>> mix = {"starry_night": 0.5, "the_scream": 0.5}
        >>> blend = load_style_model("multi_style", style_weights=mix)  # doctest: +SKIP
    """
    path = registry.resolve_model_path(model, variant)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".tflite":
        runner = TFLiteRunner.from_file(path, num_threads=num_threads)
    elif extension == ".keras":
        from tf_style.networks.saving import load_keras_model  # Starts TensorFlow: only for Keras files.

        runner = KerasRunner(load_keras_model(path))
    else:
        raise ModelError(f"model must be a .keras or .tflite file: {path}")
    num_styles = _num_styles(runner)
    if num_styles is None:
        if style is not None or style_weights is not None:
            raise ConfigError(
                f"{model} paints one style; --style and --style_weights choose among a multi-style network's styles"
            )
    else:
        names = (
            registry.style_names(path)
            or getattr(getattr(runner, "model", None), "style_names", None)
            or [str(index) for index in range(num_styles)]
        )
        if len(names) != num_styles:
            raise ModelError(f"{path}: the model takes {num_styles} style weights but its card names {len(names)}")
        runner = functools.partial(runner, **{STYLE_WEIGHTS_NAME: style_weights_row(names, style, style_weights)})
    try:  # Any model that cannot paint is found now, before a photo is read.
        runner(_PROBE)
    except ModelError as error:
        raise ModelError(f"{path}: {error}") from None
    return runner


def _num_styles(runner) -> int | None:
    """How many style weights a runner's network takes; None for a network that paints one style."""
    if isinstance(runner, TFLiteRunner):
        details = runner.inputs.get(STYLE_WEIGHTS_NAME)
        return None if details is None else int(details["shape"][-1])
    for tensor in runner.model.inputs:
        if tensor.name == STYLE_WEIGHTS_NAME:
            return int(tensor.shape[-1])
    return None


# A small, smooth, non-constant picture: what every network of the contract must paint.
_PROBE = np.linspace(0.0, 1.0, MIN_IMAGE_SIZE * MIN_IMAGE_SIZE * 3 * 4, dtype=np.float32).reshape(
    2 * MIN_IMAGE_SIZE, 2 * MIN_IMAGE_SIZE, 3
)


def apply_style(
    style_function: StyleFunction,
    image: np.ndarray,
    strength: float = 1.0,
    preserve_colors: str = "none",
    tile_size: int | None = None,
    overlap: int = 64,
) -> np.ndarray:
    """Paints a photo with a trained network.

    With `tile_size`, the photo is painted one row of tiles at a time, and each row
    is finished (colours, strength) and stored as it comes: for a uint8 photo,
    memory then grows by 6 bytes a pixel (photo and picture) plus a row of tiles.

    Args:
        style_function: From `load_style_model`.
        image: (H, W, 3) RGB, float32 in [0, 1] or uint8 in 0-255, at least 8 pixels on each side.
        strength: 1 for the network's picture, 0 for the photo; in between blends them.
        preserve_colors: "none", or "luminance" to keep the photo's colours.
        tile_size: Run in overlapping tiles of this side when the image is larger
            (bounded memory and latency); None runs the whole image at once.
        overlap: Overlap of neighbouring tiles in pixels.

    Returns:
        The picture, (H, W, 3) of `image`'s dtype: float32 in [0, 1], or uint8.

    Raises:
        ConfigError: strength outside [0, 1], unknown colour mode, an image too small.
        ModelError: the network fails, or gives another shape or non-finite values.
    """
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength must be between 0 and 1, got {strength!r}")
    if preserve_colors not in APPLY_COLOR_MODES:
        raise ConfigError(f"preserve_colors must be one of {', '.join(APPLY_COLOR_MODES)}, got {preserve_colors!r}")
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = image.astype(np.float32, copy=False)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ConfigError(f"the photo must be an (height, width, 3) RGB array, got shape {image.shape}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIZE:
        raise ConfigError(f"image is {width}x{height}; the network needs at least {MIN_IMAGE_SIZE} pixels on each side")
    picture = np.empty_like(image)
    for top, bottom, painted in paint_bands(style_function, image, tile_size, overlap):
        photo = as_float(image[top:bottom])
        if preserve_colors == "luminance":
            painted = transfer_luminance(painted, photo)
        if strength != 1.0:
            painted = strength * painted + (1.0 - strength) * photo
        painted = np.clip(painted, 0.0, 1.0)
        picture[top:bottom] = to_uint8(painted) if image.dtype == np.uint8 else painted
    return picture
