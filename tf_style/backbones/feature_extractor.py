"""The feature extractor: a VGG stack that returns ``{layer_name: activations}``.

It takes RGB images in [0, 1], NHWC, and does the VGG preprocessing (x 255,
RGB -> BGR, mean subtraction) inside, so no caller ever sees BGR. The network
is cut after the deepest requested layer, so unused blocks cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tf_style import hardware
from tf_style.backbones import boundary as boundary_lib
from tf_style.backbones import vgg
from tf_style.backbones.weights import load_pretrained_weights, set_pretrained_weights
from tf_style.errors import ConfigError


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


@keras.saving.register_keras_serializable(package="tf_style")
class FeatureExtractor(keras.Model):
    """A Keras model from images to the activations of some VGG layers.

    Args:
        feature_layers: Layer names, Keras (``block4_conv2``) or paper (``conv4_2``) style.
        backbone: "vgg19" (ImageNet, Keras download) or "vgg16_hed" (offline).
        pooling: "avg", "max" or "blur" (see `tf_style.backbones.vgg.build_vgg`).
        weights: "pretrained" for the backbone's own weights; a path to a local
            VGG19 notop ``.h5`` file (vgg19 only); or None for random weights
            (tiny test networks, with `width` < 1).
        width: Filter-count multiplier; only with ``weights=None``.
        precision: "float32"; "bfloat16" for mixed precision (bfloat16
            compute, float32 variables and outputs); or "auto", which picks
            bfloat16 where the machine runs it faster (`tf_style.hardware`).

    Called on float32 RGB images (B, H, W, 3) in [0, 1], it returns a dict
    ``{keras_layer_name: float32 (B, h, w, channels)}``. With ``boundary="reflect"``
    or ``"wrap"`` the images are first padded that way by `min_input_size`
    pixels a side, and that margin is cropped off every map again
    (`tf_style.backbones.boundary`); the default, "zeros", leaves the
    convolutions' zero padding as the border.
    Its settings are attributes (`feature_layers` with Keras names, `backbone`,
    `pooling`, `width`, `precision` with "auto" resolved) and round-trip through
    `get_config`; `weights_sha256` names the pretrained weights (None for random
    ones), `strides` gives each layer's pixels per feature pixel and
    `min_input_size` is the smallest image side, in pixels, that reaches every
    layer (the deepest layer's stride).

    Raises:
        ConfigError: unknown backbone, layer, pooling or precision.
        WeightsError: pretrained weights cannot be had.

    Example:
        >>> extractor = FeatureExtractor(["conv4_2", "conv1_1"], backbone="vgg16_hed")  # doctest: +SKIP
        >>> features = extractor(images)  # {"block4_conv2": ..., "block1_conv1": ...}  # doctest: +SKIP
    """

    def __init__(
        self,
        feature_layers: Sequence[str],
        backbone: str = "vgg19",
        *,
        pooling: str = "avg",
        weights: str | None = "pretrained",
        width: float = 1.0,
        precision: str = "float32",
        **kwargs,
    ):
        if backbone not in vgg.BACKBONES:
            raise ConfigError(f"unknown backbone {backbone!r}; choose one of {', '.join(vgg.BACKBONES)}")
        if precision not in hardware.PRECISIONS:
            raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(hardware.PRECISIONS)}")
        if not feature_layers:
            raise ConfigError("at least one feature layer is needed")
        if weights is not None and width != 1.0:
            raise ConfigError("width other than 1.0 needs random weights (weights=None)")
        architecture = vgg.ARCHITECTURE[backbone]
        names = tuple(dict.fromkeys(vgg.resolve_layer_name(name, architecture) for name in feature_layers))
        order = vgg.layer_names(architecture)
        deepest = max(names, key=order.index)
        precision = hardware.resolve_precision(precision)
        dtype = "mixed_bfloat16" if precision == "bfloat16" else None
        stack = vgg.build_vgg(architecture, deepest, pooling=pooling, width=width, dtype=dtype)
        weights_sha256 = None
        if weights is not None:
            pretrained = load_pretrained_weights(backbone, None if weights == "pretrained" else weights)
            set_pretrained_weights(stack, pretrained)
            weights_sha256 = pretrained.sha256

        super().__init__(name=kwargs.pop("name", f"{backbone}_features"), **kwargs)
        self.feature_layers = names
        self.backbone = backbone
        self.pooling = pooling
        self.weights_source = weights
        self.width = width
        self.precision = precision
        self.weights_sha256 = weights_sha256
        self.strides = {name: 2 ** vgg.pools_before(architecture, name) for name in names}
        self.min_input_size = self.strides[deepest]
        self.preprocessing = VGGPreprocessing(vgg.BGR_MEAN[backbone], name="vgg_preprocessing")
        # The VGG stack as a sub-model exposing the requested layers.
        self.taps = keras.Model(stack.input, [stack.get_layer(name).output for name in names], name=stack.name)

    def call(self, images, boundary: str = "zeros"):
        margin = self.min_input_size  # A whole number of feature pixels at every layer.
        outputs = self.taps(self.preprocessing(boundary_lib.pad_images(images, margin, boundary)))
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        # Mixed precision computes in bfloat16; the losses read float32.
        features = {name: keras.ops.cast(output, "float32") for name, output in zip(self.feature_layers, outputs)}
        return boundary_lib.crop_features(features, margin, self.strides, boundary)

    def get_config(self):
        return {
            "name": self.name,
            "feature_layers": list(self.feature_layers),
            "backbone": self.backbone,
            "pooling": self.pooling,
            "weights": self.weights_source,
            "width": self.width,
            "precision": self.precision,
        }

    def with_precision(self, precision: str) -> FeatureExtractor:
        """The same extractor (layers, pooling, weights) computing in another precision.

        Args:
            precision: "float32" or "bfloat16" ("auto" is resolved as in the constructor).

        Returns:
            This extractor when it already computes in `precision`; else a new one
            with copies of its weights (mixed precision keeps them in float32, so
            nothing is rounded).
        """
        if hardware.resolve_precision(precision) == self.precision:
            return self
        twin = FeatureExtractor(**{**self.get_config(), "precision": precision})
        twin.set_weights(self.get_weights())  # Ours, whatever happened to them since they were loaded.
        return twin


def build_feature_extractor(
    layers: Sequence[str],
    backbone: str = "vgg19",
    *,
    pooling: str = "avg",
    weights: str | None = "pretrained",
    width: float = 1.0,
    precision: str = "float32",
) -> FeatureExtractor:
    """Builds a `FeatureExtractor` for `layers` (see the class for every argument).

    Example:
        >>> extractor = build_feature_extractor(["conv4_2", "conv1_1"], backbone="vgg16_hed")  # doctest: +SKIP
        >>> features = extractor(images)  # {"block4_conv2": ..., "block1_conv1": ...}  # doctest: +SKIP
    """
    return FeatureExtractor(layers, backbone, pooling=pooling, weights=weights, width=width, precision=precision)
