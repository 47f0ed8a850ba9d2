"""Loss terms: a loss function with its weight and the loss-network layers it reads.

A term is called as ``term(image, features, target) -> (value, details)``:
`image` is the picture batch (B, H, W, 3) in [0, 1], `features` the loss
network's ``{layer: activations}`` of it, `target` what the term compares them
with (from `term.target(...)`, computed once per reference image), `value` a
float32 scalar (unweighted) and `details` a dict of further scalars to report
(``style_loss/<layer>``). `tf_style.losses.objective.Objective` weighs and sums them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tf_style.losses import functional

Tensor = Any  # A tensor of the Keras backend (tf.Tensor under TensorFlow).


class LayerLoss:
    """A term over loss-network layers: its weight, and each layer's (normalised to sum 1 when summed).

    Args:
        layer_weights: {Keras layer name: weight}.
        weight: The term's weight in the objective.
    """

    key = ""

    def __init__(self, layer_weights: Mapping[str, float], weight: float = 1.0):
        self.layer_weights = dict(layer_weights)
        self.weight = weight


class ContentLoss(LayerLoss):
    """``content_loss``: relative squared distance of feature maps to the photo's, per layer (see `LayerLoss`)."""

    key = "content_loss"

    def target(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The photo's features (B, h, w, C) at this term's layers."""
        return {name: features[name] for name in self.layer_weights}

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        per_layer = {name: functional.content_loss(features[name], target[name]) for name in self.layer_weights}
        return functional.weighted_layer_sum(per_layer, self.layer_weights), {}


class GramStyleLoss(LayerLoss):
    """``style_loss``: relative squared distance of Gram matrices to the painting's, per layer (see `LayerLoss`).

    Reports each layer's distance as ``style_loss/<layer>``.
    """

    key = "style_loss"

    def target(
        self, features_per_style: Sequence[Mapping[str, Tensor]], blend_weights: Sequence[float] | None = None
    ) -> dict[str, Tensor]:
        """The paintings' Gram matrices (1, C, C) at this term's layers, blended with `blend_weights`.

        Args:
            features_per_style: Each painting's features (one image each).
            blend_weights: One positive weight per painting (normalised to sum 1); None for equal.
        """
        grams = [
            {name: functional.gram_matrix(features[name]) for name in self.layer_weights}
            for features in features_per_style
        ]
        return {
            name: functional.blend_grams([each[name] for each in grams], blend_weights) for name in self.layer_weights
        }

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        per_layer = {name: functional.style_layer_loss(features[name], target[name]) for name in self.layer_weights}
        details = {f"{self.key}/{name}": value for name, value in per_layer.items()}
        return functional.weighted_layer_sum(per_layer, self.layer_weights), details


class TotalVariationLoss:
    """``tv_loss``: mean squared difference between neighbouring pixels (reads no layers).

    Args:
        weight: The term's weight in the objective.
    """

    key = "tv_loss"

    def __init__(self, weight: float = 1.0):
        self.weight = weight
        self.layer_weights: dict[str, float] = {}

    def __call__(self, image, features, target=None) -> tuple[Tensor, dict]:
        return functional.tv_loss(image), {}
