"""The transform network of model optimisation (Johnson, Alahi & Fei-Fei, ECCV 2016).

    image -> 9x9 stem -> two stride-2 downsamplings -> residual blocks
          -> two (x2 resize + 3x3 conv) upsamplings -> 9x9 conv -> sigmoid

with the improvements the field adopted since: instance normalisation instead of
batch normalisation (Ulyanov et al., 2016), reflection padding instead of zero
padding (no dark borders), and resize-then-convolve instead of transposed
convolutions, which leave checkerboard artifacts (Odena et al., 2016). The
resize is nearest-neighbour in the classic network and bilinear in the mobile
one, whose nearest-neighbour version painted a 2-pixel grid (see
`tf_style.networks.layers.Upsampling2x`). Every layer runs in TFLite's delegates
(see `tf_style.networks.layers`).

Two presets (`MODEL_SIZES`): "classic", the network of Johnson et al.
(1.7 M parameters), and "mobile", a quarter of the width, five residual
blocks, a stride-2 9x9 stem, bilinear upsampling and a 3x3 output convolution, so that
only two small convolutions run at full resolution (about 100 k parameters). Until
0.2 "mobile" had three residual blocks; five kept more of the photo and painted
more of the painting in the same training time, for about 10 % more inference
time (docs/benchmarks.md).

Input and output: float32 RGB images (B, H, W, 3) in [0, 1], any H and W of at
least 8 pixels (reflection padding at 1/4 resolution needs 2). A stride-2
convolution after reflection padding of k // 2 gives ceil(H / 2) rows, so the
upsampled result has 4 * ceil(H / 4) >= H rows and is cropped back to the input's
size: no padding to a multiple of 4 is needed (its slices were an eighth of the TFLite
inference time).
"""

from __future__ import annotations

import itertools

import keras

from tf_style.errors import ConfigError
from tf_style.networks.layers import (
    UPSAMPLING_INTERPOLATIONS,
    ConditionalInstanceNormalization,
    CropLike,
    InstanceNormalization,
    ReflectionPadding2D,
    Upsampling2x,
)

MODEL_SIZES = {
    "classic": {
        "width": 1.0,
        "num_residual_blocks": 5,
        "stem_stride": 1,
        "output_kernel_size": 9,
        "upsampling": "nearest",
    },
    "mobile": {
        "width": 0.25,
        "num_residual_blocks": 5,
        "stem_stride": 2,
        "output_kernel_size": 3,
        "upsampling": "bilinear",
    },
}


def _kernel_initializer(layer_seeds):
    """Keras's default kernel initialiser, with the next seed of `layer_seeds` (unseeded if None)."""
    return keras.initializers.GlorotUniform(seed=None if layer_seeds is None else next(layer_seeds))


def _conv_block(x, filters, kernel_size, strides, name, layer_seeds, style_weights=None, relu=True):
    """Reflection pad, convolution, instance norm (conditional on `style_weights` if given), optional ReLU.

    The convolution has no bias: the norm subtracts each channel's mean, so a bias
    would be cancelled exactly, and its gradient would be pure rounding noise, which
    Adam (dividing by the gradient's own scale) turns into full-size, device-dependent
    steps.
    """
    x = ReflectionPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=False,
        kernel_initializer=_kernel_initializer(layer_seeds),
        name=f"{name}_conv",
    )(x)
    if style_weights is None:
        x = InstanceNormalization(name=f"{name}_norm")(x)
    else:
        x = ConditionalInstanceNormalization(style_weights.shape[-1], name=f"{name}_norm")([x, style_weights])
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@keras.saving.register_keras_serializable(package="tf_style")
class TransformNet(keras.Model):
    """The transform network: a functional Keras model that knows its own settings.

    Args:
        width: Multiplier on the filter counts (32, 64, 128 at width 1.0, the
            classic size of Johnson et al.); 0.25-0.5 gives a small mobile model.
        num_residual_blocks: Residual blocks at 1/4 resolution (5 classic; fewer for mobile).
        stem_stride: 1 (classic: 9x9 stem at full resolution, then two stride-2
            convolutions) or 2 (the stem itself downsamples, then one stride-2
            convolution): the residual blocks run at 1/4 resolution either way.
        output_kernel_size: Odd kernel size of the last convolution (9 classic, 3 mobile).
        upsampling: "nearest" (Johnson et al.) or "bilinear" before each
            upsampling convolution (see `tf_style.networks.layers.Upsampling2x`).
        num_styles: How many styles the network paints. 1: one style, and the network
            takes the image alone. More: every instance normalisation is conditional
            (Dumoulin et al., 2017; `ConditionalInstanceNormalization`) and the network
            takes ``{"image": ..., "style_weights": ...}``, style_weights (B, num_styles) float32: a
            one-hot row paints one style, a row of non-negative weights summing to 1
            blends them.
        style_names: The styles' names, in the order of the style weights (saved with
            the network, so a file knows what it paints); None leaves them unnamed.
        seed: Seeds the initial weights (the same seed gives the same network);
            None draws them from Keras's global random state. Nothing global is
            changed either way.
        name: The model's name.

    Called on float32 RGB images (B, H, W, 3) in [0, 1], it returns the stylised
    images, same shape, also in [0, 1]. `get_config` returns the arguments above,
    so a ``.keras`` file rebuilds the same network; `preset` names the
    `MODEL_SIZES` entry it matches.

    Raises:
        ConfigError: width not positive, a negative number of blocks, a stem
            stride other than 1 or 2, an even or non-positive output kernel size,
            an unknown upsampling, num_styles not a whole number >= 1, style names that
            are not num_styles distinct words, or a negative seed.

    Example:
        >>> net = TransformNet.from_preset("mobile")  # doctest: +SKIP
        >>> stylized_image = net(images)  # (B, H, W, 3) in [0, 1]  # doctest: +SKIP
    """

    def __init__(
        self,
        width: float = 1.0,
        num_residual_blocks: int = 5,
        stem_stride: int = 1,
        output_kernel_size: int = 9,
        upsampling: str = "nearest",
        seed: int | None = None,
        name: str = "transform_net",
        num_styles: int = 1,
        style_names=None,
        **kwargs,
    ):
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
        if not _is_whole(num_styles) or num_styles < 1:
            raise ConfigError(f"num_styles must be a whole number >= 1, got {num_styles!r}")
        if style_names is not None:
            style_names = tuple(style_names)
            if (
                len(style_names) != num_styles
                or len(set(style_names)) != num_styles
                or not all(isinstance(each, str) and each.isidentifier() for each in style_names)
            ):
                raise ConfigError(f"style_names must be {num_styles} distinct words, got {list(style_names)}")
        if seed is not None and (not _is_whole(seed) or seed < 0):
            raise ConfigError(f"seed must be a whole number >= 0 or None, got {seed!r}")
        filters = [max(4, round(base * width)) for base in (32, 64, 128)]
        layer_seeds = None if seed is None else itertools.count(seed * 1000)

        image = keras.Input((None, None, 3), name="image")
        style = keras.Input((num_styles,), name="style_weights") if num_styles > 1 else None
        x = _conv_block(image, filters[0], 9, stem_stride, "stem", layer_seeds, style)
        if stem_stride == 1:
            x = _conv_block(x, filters[1], 3, 2, "down1", layer_seeds, style)
        x = _conv_block(x, filters[2], 3, 2, "down2", layer_seeds, style)
        for index in range(1, num_residual_blocks + 1):
            shortcut = x
            x = _conv_block(x, filters[2], 3, 1, f"residual{index}_a", layer_seeds, style)
            x = _conv_block(x, filters[2], 3, 1, f"residual{index}_b", layer_seeds, style, relu=False)
            x = keras.layers.Add(name=f"residual{index}_add")([shortcut, x])
        for index, channels in ((1, filters[1]), (2, filters[0])):
            x = Upsampling2x(upsampling, name=f"up{index}_resize")(x)
            x = _conv_block(x, channels, 3, 1, f"up{index}", layer_seeds, style)
        x = ReflectionPadding2D(output_kernel_size // 2, name="output_pad")(x)
        x = keras.layers.Conv2D(
            3,
            output_kernel_size,
            padding="valid",
            kernel_initializer=_kernel_initializer(layer_seeds),
            name="output_conv",
        )(x)
        x = keras.layers.Activation("sigmoid", name="output_sigmoid")(x)
        stylized_image = CropLike(name="crop_to_input")([x, image])
        inputs = image if style is None else {"image": image, "style_weights": style}
        super().__init__(inputs, stylized_image, name=name, **kwargs)
        self.width = width
        self.num_residual_blocks = num_residual_blocks
        self.stem_stride = stem_stride
        self.output_kernel_size = output_kernel_size
        self.upsampling = upsampling
        self.seed = seed
        self.num_styles = num_styles
        self.style_names = style_names

    @classmethod
    def from_preset(
        cls, preset: str, seed: int | None = None, name: str = "transform_net", num_styles: int = 1
    ) -> TransformNet:
        """The network of a `MODEL_SIZES` preset ("mobile", "mid" or "classic") painting `num_styles` styles."""
        if preset not in MODEL_SIZES:
            raise ConfigError(f"unknown model size {preset!r}; choose one of {', '.join(MODEL_SIZES)}")
        return cls(**MODEL_SIZES[preset], seed=seed, name=name, num_styles=num_styles)

    @property
    def architecture(self) -> dict:
        """The settings that decide the network's layers (a `MODEL_SIZES` entry's keys)."""
        return {
            "width": self.width,
            "num_residual_blocks": self.num_residual_blocks,
            "stem_stride": self.stem_stride,
            "output_kernel_size": self.output_kernel_size,
            "upsampling": self.upsampling,
        }

    @property
    def preset(self) -> str | None:
        """The `MODEL_SIZES` entry this network is, or None for other settings."""
        return next((name for name, settings in MODEL_SIZES.items() if settings == self.architecture), None)

    def get_config(self):
        return {
            **self.architecture,
            "seed": self.seed,
            "name": self.name,
            "num_styles": self.num_styles,
            "style_names": None if self.style_names is None else list(self.style_names),
        }

    def single_style(self, style_weights, name: str | None = None) -> TransformNet:
        """A one-style network that paints exactly what this one paints with `style_weights`.

        Conditional instance normalisation is linear in the style weights, so a
        style or a blend of styles is baked into plain instance normalisation:
        gamma = style_weights @ gammas, beta = style_weights @ betas. The result
        takes the image alone: the one-style contract every per-style file keeps.

        Args:
            style_weights: num_styles non-negative numbers (normalised to sum 1).
            name: The new network's name (default: this one's).

        Raises:
            ConfigError: a one-style network, or weights of the wrong length, negative or all zero.
        """
        import numpy as np

        if self.num_styles == 1:
            raise ConfigError("this network paints one style already")
        weights = np.asarray(style_weights, np.float64).reshape(-1)
        if weights.shape != (self.num_styles,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ConfigError(f"style weights must be {self.num_styles} non-negative numbers, got {style_weights!r}")
        if weights.sum() <= 0:
            raise ConfigError("style weights must not all be zero")
        weights = weights / weights.sum()
        single = TransformNet(**self.architecture, seed=self.seed, name=name or self.name)
        for layer in single.layers:
            source = self.get_layer(layer.name)
            if isinstance(source, ConditionalInstanceNormalization):
                gammas, betas = (np.asarray(variable) for variable in (source.gamma, source.beta))
                layer.set_weights([(weights @ gammas).astype("float32"), (weights @ betas).astype("float32")])
            elif layer.weights:
                layer.set_weights(source.get_weights())
        return single

    def with_style(self, name: str, network: TransformNet) -> TransformNet:
        """This multi-style network with style `name` taken from the one-style `network`.

        The inverse of `single_style`: `network`'s instance normalisations'
        scales and offsets become style `name`'s row of every conditional
        normalisation. `network` must hold this network's other weights exactly,
        as a ``tf-style train --trainable=norms`` run started from one of this
        network's styles (or a blend of them) does. A name this network has
        keeps its place in the style weights; a new name is added last.

        Args:
            name: A style name (a word: letters, digits, ``_``).
            network: A one-style `TransformNet` of this network's architecture.

        Raises:
            ConfigError: this network paints one style, `network` is not a
                one-style network of the same architecture, or its other weights
                differ from this network's.
        """
        import numpy as np

        if self.num_styles == 1:
            raise ConfigError("with_style adds a style to a multi-style network; this one paints one style")
        if getattr(network, "num_styles", None) != 1 or network.architecture != self.architecture:
            raise ConfigError(
                f"network {network.name!r} is not a one-style network of this architecture ({self.architecture})"
            )
        names = list(self.style_names or [f"style_{index}" for index in range(self.num_styles)])
        row = names.index(name) if name in names else len(names)
        combined = TransformNet(
            **self.architecture,
            seed=self.seed,
            name=self.name,
            num_styles=max(len(names), row + 1),
            style_names=names if row < len(names) else [*names, name],
        )
        for layer in combined.layers:
            if not layer.weights:
                continue
            source, style = self.get_layer(layer.name), network.get_layer(layer.name)
            if isinstance(source, ConditionalInstanceNormalization):
                layer.set_weights(
                    [_with_row(np.asarray(rows), row, np.asarray(value)) for rows, value in
                     ((source.gamma, style.gamma), (source.beta, style.beta))]
                )  # fmt: skip
                continue
            weights = source.get_weights()
            if any(not np.array_equal(mine, theirs) for mine, theirs in zip(weights, style.get_weights())):
                raise ConfigError(
                    f"network {network.name!r} differs from this one in {layer.name!r}: only the normalisations "
                    "may differ (train it with --trainable=norms from one of this network's styles)"
                )
            layer.set_weights(weights)
        return combined


def _with_row(rows, row: int, value):
    """`rows` (num_styles, C) with row `row` set to `value` (C,); `row` == num_styles appends it."""
    import numpy as np

    return np.concatenate([rows[:row], value[None], rows[row + 1 :]], axis=0)


def build_transform_net(
    width: float = 1.0,
    num_residual_blocks: int = 5,
    stem_stride: int = 1,
    output_kernel_size: int = 9,
    upsampling: str = "nearest",
    seed: int | None = None,
    name: str = "transform_net",
    num_styles: int = 1,
    style_names=None,
) -> TransformNet:
    """Builds a `TransformNet` (see the class for every argument).

    Example:
        >>> net = build_transform_net(**MODEL_SIZES["mobile"])  # doctest: +SKIP
    """
    return TransformNet(
        width, num_residual_blocks, stem_stride, output_kernel_size, upsampling, seed, name, num_styles, style_names
    )
