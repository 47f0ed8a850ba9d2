"""`LossConfig`: the loss network, its layers and the loss weights.

Image optimisation's `StylizeConfig` and training's `TrainConfig` both extend
it, so each setting has one name, one meaning and one check. Field names are
the CLI flag names and the manifest keys.
"""

from __future__ import annotations

import dataclasses

from tf_style import hardware
from tf_style.backbones import feature_extractor as feature_extractor_lib
from tf_style.backbones import vgg
from tf_style.errors import ConfigError
from tf_style.losses.objective import Objective
from tf_style.losses.terms import (
    ColorDistributionLoss,
    ContentLoss,
    GramStyleLoss,
    LuminanceLayoutLoss,
    TotalVariationLoss,
)
from tf_style.validation import check_choice, check_finite, check_layer_weights

# The layers of Gatys et al. (2016): conv4_2 for content, conv1_1 ... conv5_1 for style.
DEFAULT_CONTENT_LAYERS = ("block4_conv2",)
DEFAULT_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """The settings of the objective both modes minimise.

    Attributes:
        backbone: "vgg19" (ImageNet weights, downloaded by Keras) or "vgg16_hed" (offline).
        vgg_weights: Local copy of Keras's VGG19 notop ``.h5``; None downloads and caches it.
        pooling: "avg" (as Gatys et al. recommend), "max" or "blur" (anti-aliased;
            `tf_style.backbones.vgg.BlurPooling2D`).
        precision: What the loss network computes in: "float32", "bfloat16"
            mixed precision, or "auto" (bfloat16 where it is faster: CPUs with
            AMX; else float32; see `tf_style.hardware`).
        content_layers: Layer names, Keras or paper style.
        content_layer_weights: One positive weight per content layer; None for equal.
        style_layers: Layer names for the Gram-matrix style representation.
        style_layer_weights: One positive weight per style layer; None for equal.
        content_weight: Weight of the content loss (0 synthesises pure texture).
        style_weight: Weight of the style loss.
        tv_weight: Weight of the total-variation loss (0 turns it off).
        color_weight: Weight of the colour-distribution term (`ColorDistributionLoss`:
            the picture's pixels spread over hues as the painting's are; brightness is
            left to the photo); 0, the default, leaves it out.
        layout_weight: Weight of the luminance-layout term (`LuminanceLayoutLoss`: the
            picture's coarse light and dark masses where the photo has them); 0, the
            default, leaves it out.
    """

    backbone: str = "vgg19"
    vgg_weights: str | None = None
    pooling: str = "avg"
    precision: str = "auto"
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    content_layer_weights: tuple[float, ...] | None = None
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 4.0
    tv_weight: float = 10.0
    color_weight: float = 0.0
    layout_weight: float = 0.0

    def __post_init__(self):
        for field in dataclasses.fields(self):  # Lists (from JSON or flags) become tuples.
            if isinstance(getattr(self, field.name), list):
                object.__setattr__(self, field.name, tuple(getattr(self, field.name)))
        check_choice("backbone", self.backbone, vgg.BACKBONES)
        check_choice("pooling", self.pooling, vgg.POOLINGS)
        check_choice("precision", self.precision, hardware.PRECISIONS)
        if self.vgg_weights is not None and self.backbone != "vgg19":
            raise ConfigError("vgg_weights is for the vgg19 backbone only")
        if not self.content_layers:
            raise ConfigError("content_layers must name at least one layer")
        if not self.style_layers:
            raise ConfigError("style_layers must name at least one layer")
        check_layer_weights("content_layer_weights", self.content_layer_weights, self.content_layers)
        check_layer_weights("style_layer_weights", self.style_layer_weights, self.style_layers)
        check_finite("content_weight", self.content_weight, allow_zero=True)
        check_finite("style_weight", self.style_weight, allow_zero=False)
        check_finite("tv_weight", self.tv_weight, allow_zero=True)
        check_finite("color_weight", self.color_weight, allow_zero=True)
        check_finite("layout_weight", self.layout_weight, allow_zero=True)

    def objective(self, wrap: bool = False) -> Objective:
        """Content, Gram style and total-variation terms with these layers and weights, the
        colour-distribution term when `color_weight` is not 0 and the luminance-layout term
        when `layout_weight` is not 0.

        Args:
            wrap: The picture tiles: its total variation counts opposite sides as neighbours.

        Raises:
            ConfigError: a layer the backbone does not have.
        """
        architecture = vgg.ARCHITECTURE[self.backbone]
        content = vgg.resolve_layer_weights(self.content_layers, self.content_layer_weights, architecture)
        style = vgg.resolve_layer_weights(self.style_layers, self.style_layer_weights, architecture)
        terms = [
            ContentLoss(content, self.content_weight),
            GramStyleLoss(style, self.style_weight),
            TotalVariationLoss(self.tv_weight, wrap=wrap),
        ]
        if self.color_weight:
            terms.append(ColorDistributionLoss(self.color_weight))
        if self.layout_weight:
            terms.append(LuminanceLayoutLoss(self.layout_weight))
        return Objective(terms)

    def feature_extractor(self, layers, builder=None) -> feature_extractor_lib.FeatureExtractor:
        """The loss network for `layers`, with this config's backbone, weights, pooling and precision.

        Args:
            layers: Layer names.
            builder: Takes `build_feature_extractor`'s arguments (tests pass tiny random
                networks); None for `build_feature_extractor`.

        Raises:
            ConfigError: a layer the backbone does not have.
            WeightsError: the pretrained weights cannot be had.
        """
        builder = builder or feature_extractor_lib.build_feature_extractor
        return builder(
            tuple(layers),
            self.backbone,
            pooling=self.pooling,
            weights=self.vgg_weights or "pretrained",
            precision=self.precision,
        )

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(self).items()
        }
