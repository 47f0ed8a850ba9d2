"""The feed-forward transform network of model optimisation (Johnson, Alahi & Fei-Fei, ECCV 2016).

    image -> 9x9 stem -> two stride-2 downsamplings -> residual blocks
          -> two (x2 resize + 3x3 conv) upsamplings -> 9x9 conv -> sigmoid

with the improvements the field adopted since: instance normalisation instead of
batch normalisation (Ulyanov et al., 2016), reflection padding instead of zero
padding (no dark borders), and resize-then-convolve instead of transposed
convolutions, which leave checkerboard artifacts (Odena et al., 2016). The
resize is nearest-neighbour in the classic network and bilinear in the mobile
one, whose nearest-neighbour version painted a 2-pixel grid (see ``Upsampling2x``).

Every op is one that TFLite's CPU (XNNPACK) and GPU delegates handle well:
instance normalisation is written from MEAN, SUB, MUL, RSQRT and ADD rather than
a fused op (TFLite's stock instance norm is slow on device); reflection padding
is written as slices and a concatenation, because TFLite's MIRROR_PAD is not
delegated (measured on a width-0.25 net in float32 at 512x512: 182 ms with
MIRROR_PAD, 132 ms with slices); upsampling is depth-to-space, followed for
bilinear by a fixed depthwise convolution.

Two presets (``MODEL_SIZES``): "classic", the network of Johnson et al.
(1.7 M parameters), and "mobile", a quarter of the width, three residual
blocks, a stride-2 9x9 stem, bilinear upsampling and a 3x3 output convolution, so that
only two small convolutions run at full resolution (about 70 k parameters; see the README for
its latency).

Input and output: float32 RGB images (B, H, W, 3) in [0, 1], any H and W of at
least 8 pixels (reflection padding at 1/4 resolution needs 2). A stride-2
convolution after reflection padding of k // 2 gives ceil(H / 2) rows, so the
upsampled result has 4 * ceil(H / 4) >= H rows and is cropped back to the input's
size: no padding to a multiple of 4 is needed (it cost 7 ms of 55 in TFLite).
"""

from __future__ import annotations

import itertools

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
        top = [inputs[:, i:i + 1] for i in range(p, 0, -1)]
        bottom = [inputs[:, -i - 1:-i] for i in range(1, p + 1)]
        rows = ops.concatenate(top + [inputs] + bottom, axis=1)
        left = [rows[:, :, i:i + 1] for i in range(p, 0, -1)]
        right = [rows[:, :, -i - 1:-i] for i in range(1, p + 1)]
        return ops.concatenate(left + [rows] + right, axis=2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (batch, None if height is None else height + grow, None if width is None else width + grow,
                channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


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
        mean = ops.mean(inputs, axis=(1, 2), keepdims=True)
        variance = ops.mean(ops.square(inputs - mean), axis=(1, 2), keepdims=True)
        # Folded into one scale and one shift per image and channel, so the full-size
        # tensor goes through two elementwise ops (MUL, ADD) instead of four.
        scale = self.gamma * ops.rsqrt(variance + self.epsilon)
        return inputs * scale + (self.beta - mean * scale)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


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
        upsampled = ops.depth_to_space(ops.concatenate([inputs] * 4, axis=-1), 2)
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

    One SLICE op in TFLite: a strided slice with ends computed at run time took
    6 ms of a 55 ms mobile-net inference at 512x512 (dynamic-range int8, 2 threads).
    """

    def call(self, inputs):
        image, reference = inputs
        shape = ops.shape(reference)
        return ops.slice(image, (0, 0, 0, 0), (ops.shape(image)[0], shape[1], shape[2], ops.shape(image)[3]))

    def compute_output_shape(self, input_shapes):
        image_shape, reference_shape = input_shapes
        return (image_shape[0], reference_shape[1], reference_shape[2], image_shape[3])


def _kernel_initializer(layer_seeds):
    """Keras's default kernel initialiser, with the next seed of `layer_seeds` (unseeded if None)."""
    return keras.initializers.GlorotUniform(seed=None if layer_seeds is None else next(layer_seeds))


def _conv_block(x, filters, kernel_size, strides, name, layer_seeds, relu=True):
    """Reflection pad, convolution, instance norm, optional ReLU.

    The convolution has no bias: the norm subtracts each channel's mean, so a bias
    would be cancelled exactly, and its gradient would be pure rounding noise, which
    Adam (dividing by the gradient's own scale) turns into full-size, device-dependent
    steps.
    """
    x = ReflectionPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="valid", use_bias=False,
                            kernel_initializer=_kernel_initializer(layer_seeds), name=f"{name}_conv")(x)
    x = InstanceNormalization(name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


MODEL_SIZES = {
    "classic": {"width": 1.0, "num_residual_blocks": 5, "stem_stride": 1, "output_kernel_size": 9,
                "upsampling": "nearest"},
    "mobile": {"width": 0.25, "num_residual_blocks": 3, "stem_stride": 2, "output_kernel_size": 3,
               "upsampling": "bilinear"},
}


def build_transform_net(width: float = 1.0, num_residual_blocks: int = 5, stem_stride: int = 1,
                        output_kernel_size: int = 9, upsampling: str = "nearest",
                        seed: int | None = None, name: str = "transform_net") -> keras.Model:
    """Builds the transform network.

    Args:
        width: Multiplier on the filter counts (32, 64, 128 at width 1.0, the
            classic size of Johnson et al.); 0.25-0.5 gives a small mobile model.
        num_residual_blocks: Residual blocks at 1/4 resolution (5 classic; fewer for mobile).
        stem_stride: 1 (classic: 9x9 stem at full resolution, then two stride-2
            convolutions) or 2 (the stem itself downsamples, then one stride-2
            convolution): the residual blocks run at 1/4 resolution either way.
        output_kernel_size: Odd kernel size of the last convolution (9 classic, 3 mobile).
        upsampling: "nearest" (Johnson et al.) or "bilinear" before each
            upsampling convolution (see ``Upsampling2x``).
        seed: Seeds the initial weights (the same seed gives the same network);
            None draws them from Keras's global random state. Nothing global is
            changed either way.
        name: The model's name.

    Returns:
        A functional ``keras.Model`` from float32 RGB (B, H, W, 3) in [0, 1] to a
        stylised image of the same shape, also in [0, 1]. Its config round-trips
        through ``keras.Model.from_config`` and ``.keras`` files.

    Raises:
        ConfigError: width not positive, a negative number of blocks, a stem
            stride other than 1 or 2, an even or non-positive output kernel size,
            an unknown upsampling, or a negative seed.

    Example:
        >>> net = build_transform_net(**MODEL_SIZES["mobile"])  # doctest: +SKIP
        >>> stylized_image = net(images)  # (B, H, W, 3) in [0, 1]  # doctest: +SKIP
    """
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ConfigError(f"width must be > 0, got {width!r}")
    if not _is_whole(num_residual_blocks) or num_residual_blocks < 0:
        raise ConfigError(f"num_residual_blocks must be a whole number >= 0, got {num_residual_blocks!r}")
    if stem_stride not in (1, 2) or isinstance(stem_stride, bool):
        raise ConfigError(f"stem_stride must be 1 or 2, got {stem_stride!r}")
    if not _is_whole(output_kernel_size) or output_kernel_size < 1 or output_kernel_size % 2 == 0:
        raise ConfigError(f"output_kernel_size must be odd and positive, got {output_kernel_size!r}")
    if upsampling not in UPSAMPLING_INTERPOLATIONS:
        raise ConfigError(f"upsampling must be one of {UPSAMPLING_INTERPOLATIONS}, got {upsampling!r}")
    if seed is not None and (not _is_whole(seed) or seed < 0):
        raise ConfigError(f"seed must be a whole number >= 0 or None, got {seed!r}")
    filters = [max(4, round(base * width)) for base in (32, 64, 128)]
    layer_seeds = None if seed is None else itertools.count(seed * 1000)

    image = keras.Input((None, None, 3), name="image")
    x = _conv_block(image, filters[0], 9, stem_stride, "stem", layer_seeds)
    if stem_stride == 1:
        x = _conv_block(x, filters[1], 3, 2, "down1", layer_seeds)
    x = _conv_block(x, filters[2], 3, 2, "down2", layer_seeds)
    for index in range(1, num_residual_blocks + 1):
        shortcut = x
        x = _conv_block(x, filters[2], 3, 1, f"residual{index}_a", layer_seeds)
        x = _conv_block(x, filters[2], 3, 1, f"residual{index}_b", layer_seeds, relu=False)
        x = keras.layers.Add(name=f"residual{index}_add")([shortcut, x])
    for index, channels in ((1, filters[1]), (2, filters[0])):
        x = Upsampling2x(upsampling, name=f"up{index}_resize")(x)
        x = _conv_block(x, channels, 3, 1, f"up{index}", layer_seeds)
    x = ReflectionPadding2D(output_kernel_size // 2, name="output_pad")(x)
    x = keras.layers.Conv2D(3, output_kernel_size, padding="valid",
                            kernel_initializer=_kernel_initializer(layer_seeds), name="output_conv")(x)
    x = keras.layers.Activation("sigmoid", name="output_sigmoid")(x)
    stylized_image = CropLike(name="crop_to_input")([x, image])
    return keras.Model(image, stylized_image, name=name)


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
