"""Feature extractors: a VGG stack that returns ``{layer_name: activations}``.

The extractor takes RGB images in [0, 1], NHWC, and does the VGG preprocessing
(x 255, RGB -> BGR, mean subtraction) inside, so no caller ever sees BGR.
Layers are named the Keras way (``block4_conv2``); the paper's names
(``conv4_2``, ``relu4_2``, ``pool4``) are accepted and translated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras

from tf_style import backbones, hardware
from tf_style.errors import ConfigError

PRECISIONS = ("auto", "float32", "bfloat16")
_PAPER_CONV = re.compile(r"^(?:conv|relu)(\d+)_(\d+)$")
_PAPER_POOL = re.compile(r"^pool(\d+)$")


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
    valid = backbones.layer_names(architecture)
    if cleaned not in valid:
        raise ConfigError(f"unknown layer {name!r} for {architecture}: use names like block4_conv2, "
                          f"conv4_2 or relu4_2 (blocks 1-5; {architecture} has "
                          f"{'/'.join(map(str, backbones.BLOCK_DEPTHS[architecture]))} convolutions per block)")
    return cleaned


def resolve_layer_weights(layers: Sequence[str], weights: Sequence[float] | None,
                          architecture: str = "vgg19") -> dict[str, float]:
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


@keras.saving.register_keras_serializable(package="tf_style")
class VGGPreprocessing(keras.layers.Layer):
    """RGB in [0, 1] -> Caffe input: BGR in 0-255 minus the per-channel mean."""

    def __init__(self, bgr_mean: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.bgr_mean = tuple(float(value) for value in bgr_mean)

    def call(self, images):
        bgr = keras.ops.flip(images, axis=-1) * 255.0
        return bgr - keras.ops.convert_to_tensor(self.bgr_mean, dtype=bgr.dtype)

    def get_config(self):
        return {**super().get_config(), "bgr_mean": self.bgr_mean}


def build_feature_extractor(layers: Sequence[str], backbone: str = "vgg19", *,
                            pooling: str = "avg", weights: str | None = "pretrained",
                            width: float = 1.0, precision: str = "float32") -> keras.Model:
    """Builds a Keras model from an image to the activations of `layers`.

    The network is cut after the deepest requested layer, so unused blocks cost nothing.

    Args:
        layers: Layer names, Keras (``block4_conv2``) or paper (``conv4_2``) style.
        backbone: "vgg19" (ImageNet, Keras download) or "vgg16_hed" (offline).
        pooling: "avg" or "max".
        weights: "pretrained" for the backbone's own weights; a path to a local
            VGG19 notop ``.h5`` file (vgg19 only); or None for random weights
            (tiny test networks, with `width` < 1).
        width: Filter-count multiplier; only with ``weights=None``.
        precision: "float32"; "bfloat16" for mixed precision (bfloat16
            compute, float32 variables and outputs); or "auto", which picks
            bfloat16 where the machine runs it faster (`tf_style.hardware`).

    Returns:
        A ``keras.Model`` mapping float32 RGB images (B, H, W, 3) in [0, 1] to a dict
        ``{keras_layer_name: float32 (B, h, w, channels)}``. It also carries
        ``weights_sha256`` (None for random weights), ``backbone``, ``precision``
        (float32 or bfloat16, "auto" resolved) and ``min_input_size`` (the smallest
        side, in pixels, that reaches every layer).

    Raises:
        ConfigError: unknown backbone, layer, pooling or precision.
        WeightsError: pretrained weights cannot be had.

    Example:
        >>> extractor = build_feature_extractor(["conv4_2", "conv1_1"], backbone="vgg16_hed")  # doctest: +SKIP
        >>> features = extractor(images)  # {"block4_conv2": ..., "block1_conv1": ...}  # doctest: +SKIP
    """
    if backbone not in backbones.BACKBONES:
        raise ConfigError(f"unknown backbone {backbone!r}; choose one of {', '.join(backbones.BACKBONES)}")
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if not layers:
        raise ConfigError("at least one feature layer is needed")
    if weights is not None and width != 1.0:
        raise ConfigError("width other than 1.0 needs random weights (weights=None)")
    architecture = backbones.ARCHITECTURE[backbone]
    names = list(dict.fromkeys(resolve_layer_name(name, architecture) for name in layers))
    order = backbones.layer_names(architecture)
    deepest = max(names, key=order.index)

    precision = hardware.resolve_precision(precision)
    dtype = "mixed_bfloat16" if precision == "bfloat16" else None
    vgg = backbones.build_vgg(architecture, deepest, pooling=pooling, width=width, dtype=dtype)
    weights_sha256 = None
    if weights is not None:
        pretrained = backbones.load_pretrained_weights(
            backbone, None if weights == "pretrained" else weights)
        backbones.set_pretrained_weights(vgg, pretrained)
        weights_sha256 = pretrained.sha256

    images = keras.Input((None, None, 3), name="image")
    preprocess = VGGPreprocessing(backbones.BGR_MEAN[backbone], name="vgg_preprocessing")
    # The VGG stack as a sub-model exposing the requested layers.
    taps = keras.Model(vgg.input, [vgg.get_layer(name).output for name in names], name=vgg.name)
    outputs = taps(preprocess(images))
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    as_float32 = {name: keras.layers.Identity(dtype="float32", name=f"{name}_float32")(output)
                  for name, output in zip(names, outputs)}
    extractor = keras.Model(images, as_float32, name=f"{backbone}_features")
    extractor.backbone = backbone
    extractor.weights_sha256 = weights_sha256
    extractor.precision = precision
    pools_before = sum(1 for name in order[:order.index(deepest)] if name.endswith("_pool"))
    extractor.min_input_size = 2 ** pools_before
    extractor.build_arguments = {"layers": names, "backbone": backbone, "pooling": pooling, "width": width}
    return extractor


def with_precision(extractor: keras.Model, precision: str) -> keras.Model:
    """The same extractor (layers, pooling, weights) computing in another precision.

    Args:
        extractor: A model from `build_feature_extractor`.
        precision: "float32" or "bfloat16" ("auto" is resolved as in `build_feature_extractor`).

    Returns:
        `extractor` itself when it already computes in `precision`; else a new
        model with copies of its weights (mixed precision keeps them in float32,
        so nothing is rounded) and the same attributes.
    """
    precision = hardware.resolve_precision(precision)
    if precision == extractor.precision:
        return extractor
    twin = build_feature_extractor(**extractor.build_arguments, weights=None, precision=precision)
    twin.set_weights(extractor.get_weights())
    twin.weights_sha256 = extractor.weights_sha256
    return twin

