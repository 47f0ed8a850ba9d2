"""Decoders of universal style transfer: VGG features at ``relu{k}_1`` back to an image.

Each decoder mirrors the VGG stack from the input up to ``block{k}_conv1``
(``relu{k}_1``): every convolution becomes one that maps back to the
convolution's input width, and every pooling a x2 upsampling, so decoding level
4 takes ``(B, H/8, W/8, 512)`` to ``(B, H, W, 3)``. It is trained only to
reconstruct photos from their features (`tf_style.training.decoders`) and then
paints whatever features it is given: the photo's, transformed to a painting's
statistics (`tf_style.networks.universal.transforms`).

The hidden widths are the VGG's times `width` (0.5 keeps a quarter of the
multiply-adds); convolutions pad by reflection (no dark border) and upsampling
is bilinear (nearest upsampling followed by a 3x3 convolution leaves a 2-pixel
grid: `tf_style.networks.layers.Upsampling2x`). The output is RGB, nominally in
[0, 1] but unclipped: callers clip.

The photorealistic variant (``unpooling=True``; PhotoWCT, Li et al., ECCV 2018)
unpools instead: it also takes the encoder's activations before each pooling and
puts every value back where that 2 x 2 window's maximum was
(`tf_style.networks.universal.layers.MaxUnpooling2x`). The photo's own edges
then decide where detail goes, and straight lines stay where they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tf_style.backbones import vgg
from tf_style.errors import ConfigError
from tf_style.networks.layers import ReflectionPadding2D, Upsampling2x
from tf_style.networks.universal.layers import MaxUnpooling2x

# The VGG layers universal style transfer encodes to: relu1_1 ... relu5_1.
LEVELS = (1, 2, 3, 4, 5)
# The encoder's pooling: the VGG's own (max), which its weights were trained with; decoders are trained on it.
ENCODER_POOLING = "max"


def level_layer(level: int) -> str:
    """The VGG layer (Keras name) a level's features come from: ``block{level}_conv1``, the paper's relu{level}_1."""
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {', '.join(map(str, LEVELS))} (relu1_1 ... relu5_1), got {level!r}")
    return f"block{level}_conv1"


def encoder_layers(architecture: str, level: int, encoder_width: float = 1.0) -> list[tuple[str, int, int]]:
    """The VGG layers from the input to ``relu{level}_1`` as ``(name, input channels, output channels)``.

    `encoder_width` scales the VGG's filters as `tf_style.backbones.vgg.build_vgg` does (tiny test encoders).
    """
    layers, channels = [], 3
    for name in vgg.layer_names(architecture):
        if name.endswith("_pool"):
            layers.append((name, channels, channels))
        else:
            block = int(name[len("block")])
            filters = max(1, round(vgg.BLOCK_WIDTHS[block - 1] * encoder_width))
            layers.append((name, channels, filters))
            channels = filters
        if name == level_layer(level):
            return layers
    raise ConfigError(f"{architecture} has no layer {level_layer(level)}")


def pooling_sources(architecture: str, level: int) -> list[str]:
    """The VGG layers whose activations the poolings before ``relu{level}_1`` pool, deepest first.

    A photorealistic decoder of that level takes them, in this order, after the features.
    """
    layers = encoder_layers(architecture, level)
    sources = [layers[index - 1][0] for index, (name, _, _) in enumerate(layers) if name.endswith("_pool")]
    return sources[::-1]


def build_decoder(
    level: int,
    width: float = 0.5,
    architecture: str = "vgg16",
    dtype: str | None = None,
    name: str | None = None,
    encoder_width: float = 1.0,
    feature_mean: Sequence[float] | None = None,
    feature_variance: Sequence[float] | None = None,
    unpooling: bool = False,
) -> keras.Model:
    """Builds the decoder of one level.

    Args:
        level: 1-5: decodes ``relu{level}_1`` features.
        width: Multiplier on the hidden convolutions' filters (the VGG's widths at 1.0).
        architecture: "vgg16" (the offline backbone, ``vgg16_hed``) or "vgg19".
        dtype: A Keras dtype policy name ("mixed_bfloat16" to train in bfloat16); None for float32.
        name: The model's name; default ``decoder_relu{level}_1``.
        encoder_width: The encoder's filter multiplier (1.0: the real VGG; smaller for tiny test encoders).
        feature_mean, feature_variance: Per-channel statistics of the level's
            features on photos; the decoder standardises its input with them
            first (a fixed `keras.layers.Normalization`). VGG features of
            Caffe-scaled input run to the hundreds, with channels thousands of
            times apart in scale; gradient descent on such input crawls.
            Training measures them; None leaves the features as they are.
        unpooling: The photorealistic variant: every x2 upsampling becomes an
            unpooling to the positions of the encoder's maxima, and the layer
            before it keeps the VGG's full width (one channel per pooled one).

    Returns:
        A functional Keras model from features ``(B, h, w, channels at the level)``
        to RGB ``(B, h * 2^(level-1), w * 2^(level-1), 3)``, float32 out whatever `dtype`.
        With `unpooling`, its inputs are the features and then the activations of
        `pooling_sources` (each twice the size of the one before).
    """
    if not 0.0 < width <= 1.0:
        raise ConfigError(f"width must be in (0, 1], got {width!r}")
    layers = encoder_layers(architecture, level, encoder_width)
    inputs = [keras.Input((None, None, layers[-1][2]), name=f"relu{level}_1_features")]
    if unpooling:
        widths = {name: out_channels for name, _, out_channels in layers}
        inputs += [
            keras.Input((None, None, widths[name]), name=f"{name}_activations")
            for name in pooling_sources(architecture, level)
        ]
    x = inputs[0]
    if feature_mean is not None:
        x = keras.layers.Normalization(
            mean=list(feature_mean), variance=list(feature_variance), name="standardize", dtype=dtype
        )(x)
    mirrored = list(reversed(layers))
    unpooling_sources = iter(inputs[1:])  # Deepest first, as the mirror meets the poolings.
    for index, (layer, in_channels, _) in enumerate(mirrored):
        if layer.endswith("_pool"):
            if unpooling:
                x = MaxUnpooling2x(name=f"unpool_{layer}", dtype=dtype)([x, next(unpooling_sources)])
            else:
                x = Upsampling2x("bilinear", name=f"up_{layer}", dtype=dtype)(x)
            continue
        last = index == len(layers) - 1
        before_unpooling = unpooling and not last and mirrored[index + 1][0].endswith("_pool")
        filters = 3 if last else in_channels if before_unpooling else max(2, round(in_channels * width))
        x = ReflectionPadding2D(1, name=f"pad_{layer}", dtype=dtype)(x)
        x = keras.layers.Conv2D(
            filters,
            3,
            activation=None if last else "relu",
            # He for ReLU layers; the output starts as mid-grey everywhere, so the first steps
            # train the convolutions instead of undoing a random projection (4x lower loss
            # after 400 steps at relu2_1 than Glorot's uniform throughout).
            kernel_initializer="zeros" if last else "he_normal",
            bias_initializer=keras.initializers.Constant(0.5 if last else 0.0),
            name=f"mirror_{layer}",
            dtype=dtype,
        )(x)
    outputs = keras.layers.Activation("linear", dtype="float32", name="rgb")(x)
    return keras.Model(inputs if unpooling else inputs[0], outputs, name=name or f"decoder_relu{level}_1")
