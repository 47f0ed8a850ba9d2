"""Settings of image optimisation, every default in one place.

Field names are the CLI flag names and the manifest keys: one spelling per idea.
"""

from __future__ import annotations

import dataclasses
import math
import os

from tf_style.backbones import BACKBONES, POOLINGS
from tf_style.errors import ConfigError
from tf_style.features import PRECISIONS
from tf_style.lbfgs import SCALINGS as LBFGS_SCALINGS

OPTIMIZERS = ("lbfgs", "adam")
COLOR_MODES = ("none", "luminance", "histogram")
INIT_KINDS = ("recolored_content", "content", "noise", "style")  # or a path to an image file

# The layers of Gatys et al. (2016): conv4_2 for content, conv1_1 ... conv5_1 for style.
DEFAULT_CONTENT_LAYERS = ("block4_conv2",)
DEFAULT_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
DEFAULT_LEARNING_RATE = {"adam": 0.02, "lbfgs": 1.0}


@dataclasses.dataclass(frozen=True)
class StylizeConfig:
    """Everything that decides an image-optimisation run.

    Attributes:
        backbone: "vgg19" (ImageNet weights, downloaded by Keras) or "vgg16_hed" (offline).
        vgg_weights: Local copy of Keras's VGG19 notop ``.h5``; None downloads and caches it.
        pooling: "avg" (as Gatys et al. recommend) or "max".
        content_layers: Layer names, Keras or paper style.
        content_layer_weights: One positive weight per content layer; None for equal.
        style_layers: Layer names for the Gram-matrix style representation.
        style_layer_weights: One positive weight per style layer; None for equal.
        content_weight: Weight of the content loss (0 synthesises pure texture).
        style_weight: Weight of the style loss.
        tv_weight: Weight of the total-variation loss (0 turns it off).
        style_blend: One positive weight per style image; None for equal.
        style_scale: Style images are resized so their longer side is this times
            the picture's longer side (smaller: finer brush strokes).
        max_size: Longer side of the output in pixels (photos are shrunk, never enlarged).
        num_steps: Optimiser steps at each scale.
        optimizer: "lbfgs" or "adam".
        learning_rate: Adam's step size, or L-BFGS's initial step; None for the
            optimiser's default (0.02 and 1.0).
        lbfgs_memory: Number of curvature pairs L-BFGS remembers.
        lbfgs_scaling: L-BFGS's initial inverse Hessian: "diagonal" (per-pixel
            step sizes from a running mean of squared gradients, as in Adam;
            fewer steps to the same picture, see the README's benchmark) or
            "scalar" (the textbook multiple of the identity).
        adam_epsilon: Adam's epsilon. Our losses are ratios of order one, so
            pixel gradients are small (about 1e-4): an epsilon like the
            TensorFlow tutorial's 0.1 (made for losses of order 1e6) would
            swamp them and stall Adam. Adam uses beta_1 = 0.99, as the tutorial.
        init: The starting picture: "recolored_content" (the photo with the
            painting's colour mean and covariance; several paintings: their blend's;
            the photo as is when `preserve_colors` keeps its colours),
            "content" (the photo), "noise", "style" (the first painting), or the
            path of an image. Starting in the painting's colours reaches the Adam
            baseline's closeness to the style in half the steps the photo needs
            (see the README's benchmark).
        init_noise: Standard deviation of Gaussian noise added to the starting
            picture (in [0, 1] units, then clipped); 0 adds none.
        seed: Seeds the noise (``init="noise"`` and `init_noise`); same seed, same
            picture. For bit-identical pictures at 512 px and above, TensorFlow must
            run one op at a time, as `tf-style stylize` does: call
            ``tf.config.threading.set_inter_op_parallelism_threads(1)`` before its first op.
        scales: Coarse-to-fine levels: 3 optimises at 1/4, 1/2 and full size,
            each warm-started from the last.
        precision: "auto" (bfloat16 where it is faster: CPUs with AMX; else
            float32; see `tf_style.hardware`), "float32", or "bfloat16" mixed
            precision. A bfloat16 L-BFGS run whose line search stalls goes on
            in float32.
        xla: Compile the step with XLA.
        max_seconds: Stop after this much optimisation time and keep the best
            picture so far; None for no limit.
        preserve_colors: "none"; "luminance" (keep the photo's colours, take the
            stylised brightness); "histogram" (recolour the style images to the
            photo's colour statistics first).
    """

    backbone: str = "vgg19"
    vgg_weights: str | None = None
    pooling: str = "avg"
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    content_layer_weights: tuple[float, ...] | None = None
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 4.0
    tv_weight: float = 10.0
    style_blend: tuple[float, ...] | None = None
    style_scale: float = 1.0
    max_size: int = 512
    num_steps: int = 100
    optimizer: str = "lbfgs"
    learning_rate: float | None = None
    lbfgs_memory: int = 10
    lbfgs_scaling: str = "diagonal"
    adam_epsilon: float = 1e-8
    init: str = "recolored_content"
    init_noise: float = 0.0
    seed: int = 0
    scales: int = 1
    precision: str = "auto"
    xla: bool = False
    max_seconds: float | None = None
    preserve_colors: str = "none"

    def __post_init__(self):
        for field in ("content_layers", "style_layers", "content_layer_weights",
                      "style_layer_weights", "style_blend"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, field, tuple(value))
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lbfgs_scaling", self.lbfgs_scaling, LBFGS_SCALINGS)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("preserve_colors", self.preserve_colors, COLOR_MODES)
        if self.vgg_weights is not None and self.backbone != "vgg19":
            raise ConfigError("vgg_weights is for the vgg19 backbone only")
        for name in ("content_weight", "tv_weight", "init_noise"):
            check_finite(name, getattr(self, name), allow_zero=True)
        for name in ("style_weight", "style_scale"):
            check_finite(name, getattr(self, name), allow_zero=False)
        check_finite("adam_epsilon", self.adam_epsilon, allow_zero=False)
        if self.learning_rate is not None:
            check_finite("learning_rate", self.learning_rate, allow_zero=False)
        if self.max_seconds is not None:
            check_finite("max_seconds", self.max_seconds, allow_zero=False)
        for name, low in (("max_size", 16), ("num_steps", 1), ("lbfgs_memory", 1), ("scales", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")
        if not self.content_layers:
            raise ConfigError("content_layers must name at least one layer")
        if not self.style_layers:
            raise ConfigError("style_layers must name at least one layer")
        check_layer_weights("content_layer_weights", self.content_layer_weights, self.content_layers)
        check_layer_weights("style_layer_weights", self.style_layer_weights, self.style_layers)
        if self.style_blend is not None:
            for weight in self.style_blend:
                check_finite("style_blend", weight, allow_zero=False)
        if self.init not in INIT_KINDS and not os.path.isfile(self.init):
            raise ConfigError(f"init must be one of {', '.join(INIT_KINDS)} or an image file; "
                              f"not found: {self.init}")

    @property
    def step_size(self) -> float:
        """The learning rate in force: the configured one or the optimiser's default."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATE[self.optimizer]

    def replace(self, **changes) -> "StylizeConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}


def check_choice(name: str, value, choices) -> None:
    """Raises ConfigError unless `value` is one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def check_finite(name: str, value, allow_zero: bool) -> None:
    """Raises ConfigError unless `value` is a finite number > 0 (or >= 0 with `allow_zero`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be {bound}, got {value!r}")


def check_layer_weights(name: str, weights, layers) -> None:
    """Raises ConfigError unless `weights` is None or one positive number per layer."""
    if weights is None:
        return
    if len(weights) != len(layers):
        raise ConfigError(f"{name} has {len(weights)} values for {len(layers)} layers")
    for weight in weights:
        check_finite(name, weight, allow_zero=False)
