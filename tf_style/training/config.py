"""Settings of model optimisation (training a transform network), every default in one place.

Field names are the CLI flag names and the manifest keys: one spelling per idea.
"""

from __future__ import annotations

import dataclasses

from tf_style.errors import ConfigError
from tf_style.losses.config import LossConfig
from tf_style.networks.johnson.transform_net import MODEL_SIZES
from tf_style.validation import check_choice, check_finite, check_whole

# What `TrainConfig.trainable` may be: every weight, or the normalisations' scales and offsets only.
TRAINABLE = ("all", "norms")


def check_schedule(config, min_crop_size: int) -> None:
    """ConfigError unless a training config's schedule fields are sane.

    The fields every `tf_style.training.trainer.Trainer` config has: ``crop_size``
    (at least `min_crop_size`), ``batch_size``, ``num_steps``, ``checkpoint_every``,
    ``log_every``, ``sample_every`` (whole numbers of at least 1) and ``learning_rate``
    (finite, not zero).
    """
    check_finite("learning_rate", config.learning_rate, allow_zero=False)
    check_whole("crop_size", config.crop_size, min_crop_size)
    for name in ("batch_size", "num_steps", "checkpoint_every", "log_every", "sample_every"):
        check_whole(name, getattr(config, name), 1)


@dataclasses.dataclass(frozen=True)
class TrainConfig(LossConfig):
    """Everything that decides a training run.

    The loss network, its layers and the loss weights are `LossConfig`'s fields,
    as in image optimisation and with the same meaning, except two defaults: the
    style weight is 16 (a network that paints every photo with one set of weights
    needs a stronger pull toward the painting than one picture does) and the
    precision float32 (the shipped networks were trained in float32; bfloat16
    training is not measured yet).

    Content and style are at image optimisation's layers (``block4_conv2``; Gatys's
    five style layers), so the two modes aim at one target. Johnson et al. (2016)
    took content at relu2_2; that holds the network to the photo's fine detail,
    which competes with the painting's brush strokes (docs/benchmarks.md).

    Attributes:
        model_size: A preset of `MODEL_SIZES`: "mobile" or "classic".
        style_scale: The painting is resized so its longer side is this times `crop_size`.
        crop_size: Side of the square training crops, in pixels.
        batch_size: Photos per step, over all devices.
        num_steps: Optimiser steps.
        learning_rate: Adam's step size.
        seed: Seeds the network's initialisation and the photo stream.
        init_model: A trained transform net (``.keras``) to start from instead of
            the seeded random weights, to fine-tune it (under other weights or
            layers, say); it must be a ``model_size`` network. A multi-style
            network starts from the even blend of its styles. A resumed
            checkpoint takes precedence.
        trainable: Which weights training changes: "all", or "norms", only the
            instance normalisations' scales and offsets (γ, β), the rest of
            `init_model` frozen. Dumoulin et al. (2017) found that a network
            trained on many paintings learns a new one this way: the frozen
            convolutions keep the photo, and each step updates 0.7 % of the
            weights (768 of the mobile network's 103,155). Needs `init_model` (a multi-style network, ideally).
        checkpoint_every: Steps between checkpoints.
        log_every: Steps between TensorBoard scalars.
        sample_every: Steps between TensorBoard sample images.
    """

    precision: str = "float32"
    style_weight: float = 16.0
    model_size: str = "mobile"
    style_scale: float = 2.0
    crop_size: int = 192
    batch_size: int = 4
    num_steps: int = 1000
    learning_rate: float = 2e-3
    seed: int = 0
    init_model: str | None = None
    trainable: str = "all"
    checkpoint_every: int = 100
    log_every: int = 10
    sample_every: int = 100

    def __post_init__(self):
        super().__post_init__()
        check_choice("model_size", self.model_size, tuple(MODEL_SIZES))
        check_choice("trainable", self.trainable, TRAINABLE)
        if self.trainable != "all" and not self.init_model:
            raise ConfigError(
                f"trainable={self.trainable} trains part of a trained network, so it needs init_model "
                "(multi_style, say); random weights must all be trained"
            )
        check_finite("style_scale", self.style_scale, allow_zero=False)
        check_schedule(self, min_crop_size=32)
