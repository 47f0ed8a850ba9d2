"""Layers the project's networks share, each written from ops that TFLite's delegates run.

TFLite's CPU (XNNPACK) and GPU delegates run every op used here:

* instance normalisation is written from MEAN, SUB, MUL, RSQRT and ADD rather
  than a fused op (TFLite's stock instance norm is slow on device);
* reflection padding is written as slices and a concatenation, because TFLite's
  MIRROR_PAD is not delegated (docs/design.md gives the measured cost);
* upsampling is depth-to-space, followed for bilinear by a fixed depthwise
  convolution.

Images are NHWC float32 tensors. Every layer is registered with Keras under
``tf_style>`` and round-trips through ``get_config``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tf_style.errors import ConfigError

UPSAMPLING_INTERPOLATIONS = ("nearest", "bilinear")


@keras.saving.register_keras_serializable(package="tf_style")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring the image (no edge repeated)."""

    def __init__(self, padding: int, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        # Equal to ops.pad(..., mode="reflect"), built from slices (see the module docstring).
        p = self.padding
        if p == 0:
            return inputs
        top = [inputs[:, i : i + 1] for i in range(p, 0, -1)]
        bottom = [inputs[:, -i - 1 : -i] for i in range(1, p + 1)]
        rows = ops.concatenate([*top, inputs, *bottom], axis=1)
        left = [rows[:, :, i : i + 1] for i in range(p, 0, -1)]
        right = [rows[:, :, -i - 1 : -i] for i in range(1, p + 1)]
        return ops.concatenate([*left, rows, *right], axis=2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (batch, None if height is None else height + grow, None if width is None else width + grow, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _normalize(features, gamma, beta, epsilon: float):
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta, statistics per image and channel.

    gamma and beta broadcast against (B, 1, 1, C): (C,) for one style, (B, 1, 1, C)
    for one per image. Folded into one scale and one shift per image and channel, so
    the full-size tensor goes through two elementwise ops (MUL, ADD) instead of four.
    """
    mean = ops.mean(features, axis=(1, 2), keepdims=True)
    variance = ops.mean(ops.square(features - mean), axis=(1, 2), keepdims=True)
    scale = gamma * ops.rsqrt(variance + epsilon)
    return features * scale + (beta - mean * scale)


@keras.saving.register_keras_serializable(package="tf_style")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each channel of each image over its height and width, then scales and shifts.

    y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, with the statistics
    taken per image and channel. Written from elementary ops so TFLite
    delegates run it (see the module docstring).
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        return _normalize(inputs, self.gamma, self.beta, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tf_style")
class ConditionalInstanceNormalization(keras.layers.Layer):
    """Instance normalisation whose scale and shift are chosen by a style-weights vector.

    Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style"
    (ICLR 2017): one network paints many styles, each style being its own
    (gamma, beta) per normalisation layer. Called on ``[features, style_weights]``
    with features (B, H, W, C) and style_weights (B, num_styles), it uses
    gamma = style_weights @ gammas and beta = style_weights @ betas, so a one-hot
    vector picks one style and a convex mix blends them. Written from the same
    elementary ops as `InstanceNormalization`, plus one matrix product.
    """

    def __init__(self, num_styles: int, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_styles = int(num_styles)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.gamma = self.add_weight(name="gamma", shape=(self.num_styles, channels), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.num_styles, channels), initializer="zeros")

    def call(self, inputs):
        features, style_weights = inputs
        style_weights = ops.cast(style_weights, features.dtype)
        gamma = ops.expand_dims(ops.expand_dims(ops.matmul(style_weights, self.gamma), 1), 1)
        beta = ops.expand_dims(ops.expand_dims(ops.matmul(style_weights, self.beta), 1), 1)
        return _normalize(features, gamma, beta, self.epsilon)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon}


def nearest_upsampled(images):
    """x2 nearest-neighbour upsampling of (B, H, W, C) as depth-to-space of four copies of the channels.

    TFLite's DEPTH_TO_SPACE runs at any image size, where Keras's resize converts only at fixed sizes.
    """
    return ops.depth_to_space(ops.concatenate([images] * 4, axis=-1), 2)


@keras.saving.register_keras_serializable(package="tf_style")
class Upsampling2x(keras.layers.Layer):
    """x2 upsampling, nearest-neighbour or bilinear, from ops every TFLite delegate runs.

    Nearest is depth-to-space of four copies of the channels: identical to
    ``UpSampling2D(2, interpolation="nearest")``, but it converts to TFLite with
    dynamic image sizes (DEPTH_TO_SPACE), where Keras's resize does not.
    Bilinear (half-pixel centres, as ``tf.image.resize``) is that followed by a
    fixed [1, 2, 1] / 4 x [1, 2, 1] / 4 depthwise blur with the border pixel
    repeated. Nearest upsampling followed by a learned 3x3 convolution lets each
    output pixel depend on its position within the 2 x 2 block it came from,
    which shows as a 2-pixel grid in stylised pictures; bilinear does not.
    """

    def __init__(self, interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation not in UPSAMPLING_INTERPOLATIONS:
            raise ConfigError(f"interpolation must be one of {UPSAMPLING_INTERPOLATIONS}, got {interpolation!r}")
        self.interpolation = interpolation
        self.border_padding = ReflectionPadding2D(1)

    def build(self, input_shape):
        if self.interpolation == "bilinear":
            taps = np.array([1.0, 2.0, 1.0]) / 4.0
            kernel = np.tile(np.outer(taps, taps)[:, :, None, None], (1, 1, input_shape[-1], 1))
            self.blur_kernel = ops.convert_to_tensor(kernel.astype("float32"))

    def call(self, inputs):
        upsampled = nearest_upsampled(inputs)
        if self.interpolation == "nearest":
            return upsampled
        # In a nearest-upsampled image the mirrored neighbour of a border pixel is its copy,
        # so reflection padding repeats the border here, as bilinear resizing clamps.
        padded = self.border_padding(upsampled)
        return ops.depthwise_conv(padded, self.blur_kernel, padding="valid")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, channels)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


@keras.saving.register_keras_serializable(package="tf_style")
class CropLike(keras.layers.Layer):
    """Crops the first input to the height and width of the second (keeps the top left).

    One SLICE op in TFLite: a strided slice with ends computed at run time was a
    tenth of a mobile net's inference time.
    """

    def call(self, inputs):
        image, reference = inputs
        shape = ops.shape(reference)
        return ops.slice(image, (0, 0, 0, 0), (ops.shape(image)[0], shape[1], shape[2], ops.shape(image)[3]))

    def compute_output_shape(self, input_shapes):
        image_shape, reference_shape = input_shapes
        return (image_shape[0], reference_shape[1], reference_shape[2], image_shape[3])
