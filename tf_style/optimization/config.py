"""Settings of image optimisation, every default in one place.

Field names are the CLI flag names and the manifest keys: one spelling per idea.
"""

from __future__ import annotations

import dataclasses
import os

from tf_style.errors import ConfigError
from tf_style.losses.config import LossConfig
from tf_style.optimization.lbfgs import SCALINGS as LBFGS_SCALINGS
from tf_style.validation import check_choice, check_finite, check_whole

OPTIMIZERS = ("lbfgs", "adam")
COLOR_MODES = ("none", "luminance", "histogram")
INIT_KINDS = ("recolored_content", "content", "noise", "style")  # or a path to an image file
DEFAULT_LEARNING_RATE = {"adam": 0.02, "lbfgs": 1.0}


@dataclasses.dataclass(frozen=True)
class StylizeConfig(LossConfig):
    """Everything that decides an image-optimisation run.

    The loss network, its layers and the loss weights are `LossConfig`'s fields
    (`backbone`, `vgg_weights`, `pooling`, `precision`, `content_layers`,
    `content_layer_weights`, `style_layers`, `style_layer_weights`,
    `content_weight`, `style_weight`, `tv_weight`). ``precision="auto"`` (the
    default) computes in bfloat16 on CPUs with AMX; a bfloat16 L-BFGS run
    whose line search stalls goes on in float32.

    Attributes:
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
            fewer steps to the same picture, see docs/benchmarks.md) or
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
            (see docs/benchmarks.md).
        init_noise: Standard deviation of Gaussian noise added to the starting
            picture (in [0, 1] units, then clipped); 0 adds none.
        seed: Seeds the noise (``init="noise"`` and `init_noise`); same seed, same
            picture. For bit-identical pictures at 512 px and above, TensorFlow must
            run one op at a time, as `tf-style stylize` does: call
            ``tf.config.threading.set_inter_op_parallelism_threads(1)`` before its first op.
        scales: Coarse-to-fine levels: 3 optimises at 1/4, 1/2 and full size,
            each warm-started from the last.
        xla: Compile the step with XLA.
        max_seconds: Stop after this much optimisation time and keep the best
            picture so far; None for no limit.
        preserve_colors: "none"; "luminance" (keep the photo's colours, take the
            stylised brightness); "histogram" (recolour the style images to the
            photo's colour statistics first).
    """

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
    xla: bool = False
    max_seconds: float | None = None
    preserve_colors: str = "none"

    def __post_init__(self):
        super().__post_init__()
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lbfgs_scaling", self.lbfgs_scaling, LBFGS_SCALINGS)
        check_choice("preserve_colors", self.preserve_colors, COLOR_MODES)
        check_finite("init_noise", self.init_noise, allow_zero=True)
        check_finite("style_scale", self.style_scale, allow_zero=False)
        check_finite("adam_epsilon", self.adam_epsilon, allow_zero=False)
        if self.learning_rate is not None:
            check_finite("learning_rate", self.learning_rate, allow_zero=False)
        if self.max_seconds is not None:
            check_finite("max_seconds", self.max_seconds, allow_zero=False)
        for name, low in (("max_size", 16), ("num_steps", 1), ("lbfgs_memory", 1), ("scales", 1)):
            check_whole(name, getattr(self, name), low)
        if self.style_blend is not None:
            for weight in self.style_blend:
                check_finite("style_blend", weight, allow_zero=False)
        if self.init not in INIT_KINDS and not os.path.isfile(self.init):
            raise ConfigError(f"init must be one of {', '.join(INIT_KINDS)} or an image file; not found: {self.init}")

    @property
    def step_size(self) -> float:
        """The learning rate in force: the configured one or the optimiser's default."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATE[self.optimizer]
