"""VGG convolution stacks: their architecture and layer names.

The networks built here take Caffe-preprocessed input (BGR, 0-255, mean
subtracted); `tf_style.backbones.feature_extractor` wraps them so callers pass
RGB in [0, 1]. Pretrained weights come from `tf_style.backbones.weights`.

Layers are named the Keras way (``block4_conv2``); the paper's names
(``conv4_2``, ``relu4_2``, ``pool4``) are accepted and translated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras
import numpy as np

from tf_style.errors import ConfigError

BACKBONES = ("vgg19", "vgg16_hed")
POOLINGS = ("avg", "max", "blur")

# Convolutions per block.
BLOCK_DEPTHS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_WIDTHS = (64, 128, 256, 512, 512)
ARCHITECTURE = {"vgg19": "vgg19", "vgg16_hed": "vgg16"}

# Per-channel BGR means subtracted by the Caffe preprocessing each set of weights was trained with.
BGR_MEAN = {"vgg19": (103.939, 116.779, 123.68), "vgg16_hed": (104.00699, 116.66877, 122.67892)}

_PAPER_CONV = re.compile(r"^(?:conv|relu)(\d+)_(\d+)$")
_PAPER_POOL = re.compile(r"^pool(\d+)$")


def layer_names(architecture: str) -> list[str]:
    """All layer names of a VGG stack in order: ``block1_conv1`` ... ``block5_pool``."""
    names = []
    for block, depth in enumerate(BLOCK_DEPTHS[architecture], start=1):
        names += [f"block{block}_conv{conv}" for conv in range(1, depth + 1)]
        names.append(f"block{block}_pool")
    return names


def resolve_layer_name(name: str, architecture: str = "vgg19") -> str:
    """Returns the Keras name of a VGG layer given either naming convention.

    ``conv4_2`` and ``relu4_2`` both mean ``block4_conv2`` (Keras convolutions
    include their ReLU); ``pool4`` means ``block4_pool``.

    Raises:
        ConfigError: the layer does not exist in `architecture`.
    """
    cleaned = name.strip()
    if match := _PAPER_CONV.match(cleaned):
        cleaned = f"block{match[1]}_conv{match[2]}"
    elif match := _PAPER_POOL.match(cleaned):
        cleaned = f"block{match[1]}_pool"
    valid = layer_names(architecture)
    if cleaned not in valid:
        raise ConfigError(
            f"unknown layer {name!r} for {architecture}: use names like block4_conv2, "
            f"conv4_2 or relu4_2 (blocks 1-5; {architecture} has "
            f"{'/'.join(map(str, BLOCK_DEPTHS[architecture]))} convolutions per block)"
        )
    return cleaned


def resolve_layer_weights(
    layers: Sequence[str], weights: Sequence[float] | None, architecture: str = "vgg19"
) -> dict[str, float]:
    """{Keras layer name: weight} for a loss's layers; equal weights when `weights` is None.

    Paper names are resolved; a layer named twice (say ``conv1_1`` and
    ``block1_conv1``) gets the sum of its weights.
    """
    weights = weights if weights is not None else [1.0] * len(layers)
    resolved: dict[str, float] = {}
    for name, weight in zip(layers, weights):
        key = resolve_layer_name(name, architecture)
        resolved[key] = resolved.get(key, 0.0) + float(weight)
    return resolved


def pools_before(architecture: str, layer: str) -> int:
    """How many poolings lie between the input and `layer` (a Keras name)."""
    order = layer_names(architecture)
    return sum(1 for name in order[: order.index(layer)] if name.endswith("_pool"))


class BlurPooling2D(keras.layers.Layer):
    """Halves a map (B, H, W, C) -> (B, H // 2, W // 2, C): a binomial blur, then every second pixel.

    The blur is [1, 3, 3, 1] / 8 along each axis, over the map padded with one zero
    on each side, so each output is centred where 2 x 2 average pooling's is and the
    output has its size. Average pooling is a [1, 1] box: it lets through the
    frequencies it then aliases, and its gradient can paint that alias as a fine
    grid into an optimised picture; the binomial filter takes most of them out
    first (anti-aliased pooling, Zhang, ICML 2019). At 512 px it lowered the worst
    grids but not the mean over 12 pairs (docs/benchmarks.md). Fixed weights, none
    to load.
    """

    def build(self, input_shape):
        taps = np.array([1.0, 3.0, 3.0, 1.0], np.float32) / 8.0
        self._kernel = np.tile(np.outer(taps, taps)[:, :, None, None], (1, 1, int(input_shape[-1]), 1))

    def call(self, inputs):
        padded = keras.ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
        kernel = keras.ops.cast(self._kernel, inputs.dtype)
        return keras.ops.depthwise_conv(padded, kernel, strides=2, padding="valid")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return batch, None if height is None else height // 2, None if width is None else width // 2, channels


_POOLING_LAYERS = {"avg": keras.layers.AveragePooling2D, "max": keras.layers.MaxPooling2D}


def _pooling_layer(pooling: str, name: str, dtype: str | None) -> keras.layers.Layer:
    if pooling == "blur":
        return BlurPooling2D(name=name, dtype=dtype)
    return _POOLING_LAYERS[pooling](2, strides=2, name=name, dtype=dtype)


def build_vgg(
    architecture: str, last_layer: str, pooling: str = "avg", width: float = 1.0, dtype: str | None = None
) -> keras.Model:
    """Builds a VGG stack from its input up to `last_layer` and no further.

    Every convolution includes its ReLU and keeps its Keras name, so
    ``model.get_layer("block4_conv2").output`` is the paper's ``relu4_2``.

    Args:
        architecture: "vgg16" or "vgg19".
        last_layer: Keras layer name where the network stops.
        pooling: "avg" (recommended by Gatys et al.), "max" (the original VGG)
            or "blur" (`BlurPooling2D`, anti-aliased).
        width: Multiplier on the number of filters; 1.0 is the real VGG. Smaller
            widths make tiny random networks for tests.
        dtype: A Keras dtype policy name, e.g. "mixed_bfloat16"; None for float32.

    Returns:
        A functional model from Caffe-preprocessed images (B, H, W, 3) to the
        `last_layer` activations; unweighted (He-uniform) until weights are set.
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    inputs = keras.Input((None, None, 3), name="bgr_image")
    x = inputs
    for block, depth in enumerate(BLOCK_DEPTHS[architecture], start=1):
        filters = max(1, round(BLOCK_WIDTHS[block - 1] * width))
        for conv in range(1, depth + 1):
            name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=name, dtype=dtype)(x)
            if name == last_layer:
                return keras.Model(inputs, x, name=f"{architecture}_to_{last_layer}")
        name = f"block{block}_pool"
        x = _pooling_layer(pooling, name, dtype)(x)
        if name == last_layer:
            return keras.Model(inputs, x, name=f"{architecture}_to_{last_layer}")
    raise ConfigError(f"layer {last_layer!r} is not in {architecture}")
