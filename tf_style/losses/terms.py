"""Loss terms: a loss function with its weight and the loss-network layers it reads.

A term is called as ``term(image, features, target) -> (value, details)``:
`image` is the picture batch (B, H, W, 3) in [0, 1], `features` the loss
network's ``{layer: activations}`` of it, `target` what the term compares them
with (from `term.target(...)`, computed once per reference image), `value` a
float32 scalar (unweighted) and `details` a dict of further scalars to report
(``style_loss/<layer>``). `tf_style.losses.objective.Objective` weighs and sums them.

`reads` says what a term's target is made from: "photo" (``target(features)``),
"photo_pixels" (``target(photo)``, the photo itself), "paintings"
(``target(features_per_style, blend_weights)``), "painting_pixels"
(``target(paintings, blend_weights)``, the paintings themselves), "painting_regions"
(see `RegionGramStyleLoss`) or None (no target).
The style terms: `GramStyleLoss` (Gatys et al.), `SlicedWassersteinStyleLoss`
(Heitz et al. 2021; with the channel axes as directions, the per-channel
histogram loss of Risser et al. 2017) and `MRFStyleLoss` (Li & Wand 2016).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

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
    reads = "photo"

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
    reads = "paintings"

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


class RegionGramStyleLoss(LayerLoss):
    """``style_loss`` with a region per painting: each painting's Gram matrices are matched by those of
    the picture's positions its mask weighs (masked Gram matrices), so no painting's style spills
    into another's region.

    Its target (``reads = "painting_regions"``) is made from the paintings' features and each
    painting's mask at every layer's resolution (`target`).
    """

    key = "style_loss"
    reads = "painting_regions"

    def target(
        self,
        features_per_style: Sequence[Mapping[str, Tensor]],
        masks: Mapping[str, Sequence[Tensor]],
        blend_weights: Sequence[float] | None = None,
    ) -> dict:
        """{"grams": {layer: [A_k]}, "masks": {layer: [(1, h, w, 1) mask_k]}, "shares": [w_k summing to 1]}.

        Args:
            features_per_style: Each painting's features (one image each).
            masks: {layer: one mask per painting, at that layer's resolution}.
            blend_weights: One positive weight per painting; None for equal.
        """
        grams = {name: [] for name in self.layer_weights}
        for features in features_per_style:
            for name in self.layer_weights:
                grams[name].append(functional.gram_matrix(features[name]))
        count = len(next(iter(grams.values())))
        weights = list(blend_weights) if blend_weights is not None else [1.0] * count
        shares = [weight / sum(weights) for weight in weights]
        return {"grams": grams, "masks": {name: list(masks[name]) for name in self.layer_weights}, "shares": shares}

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        per_layer = {}
        for name in self.layer_weights:
            regions = zip(target["grams"][name], target["masks"][name], target["shares"])
            per_layer[name] = functional.add_all(
                [
                    share * functional.relative_squared_error(functional.masked_gram_matrix(features[name], mask), gram)
                    for gram, mask, share in regions
                ]
            )
        details = {f"{self.key}/{name}": value for name, value in per_layer.items()}
        return functional.weighted_layer_sum(per_layer, self.layer_weights), details


class SlicedWassersteinStyleLoss(LayerLoss):
    """``sliced_wasserstein_loss``: the feature distribution's distance to the paintings', per layer.

    The Gram matrix keeps only second moments; this compares whole distributions,
    seen along many directions (`functional.sliced_wasserstein_loss`). The
    directions are random unit vectors, as many as the layer has channels, drawn
    once per target from `seed` (a fixed objective, which L-BFGS needs); with
    ``directions="channels"`` they are the channel axes: ``histogram_loss``.

    Args:
        layer_weights: {Keras layer name: weight}.
        weight: The term's weight in the objective.
        directions: "random" or "channels".
        seed: Seeds the random directions.
    """

    reads = "paintings"

    def __init__(
        self, layer_weights: Mapping[str, float], weight: float = 1.0, directions: str = "random", seed: int = 0
    ):
        super().__init__(layer_weights, weight)
        if directions not in ("random", "channels"):
            raise ValueError(f"directions must be 'random' or 'channels', got {directions!r}")
        self.directions = directions
        self.seed = seed
        self.key = "sliced_wasserstein_loss" if directions == "random" else "histogram_loss"

    def _projections(self, channels: int, layer_index: int) -> np.ndarray:
        if self.directions == "channels":
            return np.eye(channels, dtype=np.float32)
        directions = np.random.default_rng([self.seed, layer_index]).standard_normal((channels, channels))
        return (directions / np.linalg.norm(directions, axis=0, keepdims=True)).astype(np.float32)

    def target(self, features_per_style, blend_weights: Sequence[float] | None = None) -> dict:
        """{layer: (quantiles (Q, P), directions (C, P))} of the paintings' features, blended as a mixture."""
        features_per_style = [dict(features) for features in features_per_style]
        target = {}
        for index, name in enumerate(self.layer_weights):
            projections = self._projections(int(features_per_style[0][name].shape[-1]), index)
            quantiles = functional.projected_quantiles(
                [features[name] for features in features_per_style], projections, blend_weights
            )
            target[name] = (quantiles, projections)
        return target

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        per_layer = {
            name: functional.sliced_wasserstein_loss(features[name], *target[name]) for name in self.layer_weights
        }
        details = {f"{self.key}/{name}": value for name, value in per_layer.items()}
        return functional.weighted_layer_sum(per_layer, self.layer_weights), details


class MRFStyleLoss(LayerLoss):
    """``mrf_loss``: each 3 x 3 feature patch against its most similar painting patch, per layer.

    Li & Wand (2016) use ``block3_conv1`` and ``block4_conv1``. The paintings'
    patches are pooled (blend weights do not apply) and thinned evenly to at most
    `max_patches` per layer, which bounds the similarity matrix's memory
    (positions x `max_patches` floats).

    Args:
        layer_weights: {Keras layer name: weight}.
        weight: The term's weight in the objective.
        max_patches: Painting patches kept per layer.
    """

    key = "mrf_loss"
    reads = "paintings"

    def __init__(self, layer_weights: Mapping[str, float], weight: float = 1.0, max_patches: int = 4096):
        super().__init__(layer_weights, weight)
        self.max_patches = max_patches

    def target(self, features_per_style, blend_weights: Sequence[float] | None = None) -> dict:
        """{layer: (M, 9 C) the paintings' patches}."""
        features_per_style = [dict(features) for features in features_per_style]
        target = {}
        for name in self.layer_weights:
            patches = np.concatenate(
                [
                    keras.ops.convert_to_numpy(functional.feature_patches(features[name]))[0]
                    for features in features_per_style
                ]
            )
            if len(patches) > self.max_patches:
                patches = patches[np.linspace(0, len(patches) - 1, self.max_patches).round().astype(int)]
            target[name] = patches
        return target

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        per_layer = {name: functional.mrf_loss(features[name], target[name]) for name in self.layer_weights}
        details = {f"{self.key}/{name}": value for name, value in per_layer.items()}
        return functional.weighted_layer_sum(per_layer, self.layer_weights), details


class MattingLaplacianLoss:
    """``photorealism_loss``: how far the picture is from a locally affine recolouring of the photo.

    The regulariser of Luan et al. (2017), "Deep Photo Style Transfer": the
    matting Laplacian's quadratic form (`functional.matting_laplacian_loss`). It
    lets colours change but not shapes: in every 3 x 3 window the picture must be
    an affine function of the photo's colours, so edges stay where the photo has
    them and straight lines stay straight. Reads no layers.

    Args:
        weight: The term's weight in the objective.
        epsilon: Regularises each window's affine fit (larger: smoother colours).
    """

    key = "photorealism_loss"
    reads = "photo_pixels"

    def __init__(self, weight: float = 1.0, epsilon: float = 1e-5):
        self.weight = weight
        self.epsilon = epsilon
        self.layer_weights: dict[str, float] = {}

    def target(self, photo) -> tuple:
        """(offsets, inverses) of `functional.local_affine_statistics`, batch axis added, from the photo
        (H, W, 3) in [0, 1]."""
        offsets, inverses = functional.local_affine_statistics(photo, self.epsilon)
        return offsets[None], inverses[None]

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        return functional.matting_laplacian_loss(image, *target, epsilon=self.epsilon), {}


class ColorDistributionLoss:
    """``color_loss``: the picture's colours against the paintings' colour distribution (reads no layers).

    The Gram loss sees colour only through feature correlations, and it can meet them with
    a mix of the painting's colours that the painting lacks: blue and yellow strokes come
    out as a pink or lavender cast. This term compares the distribution of the pixels
    themselves, RGB in [0, 1], with the paintings' (a mixture by blend weight), seen along
    `num_directions` random unit directions in the chroma plane of RGB (orthogonal to grey),
    drawn once from `seed` (a fixed objective): `functional.sliced_wasserstein_loss` on pixels
    instead of features. Only hue and saturation are compared: brightness stays the photo's
    and the layers' business (matched in RGB, a dark painting pulled a light photo's masses
    dark and turned them over). Where the colours go stays the other terms' choice too: the
    term only asks that the picture's pixels be spread over hues as the painting's are.

    Args:
        weight: The term's weight in the objective.
        num_directions: Directions in RGB the distributions are compared along.
        seed: Seeds the directions.
    """

    key = "color_loss"
    reads = "painting_pixels"

    def __init__(self, weight: float = 1.0, num_directions: int = 16, seed: int = 0):
        self.weight = weight
        self.layer_weights: dict[str, float] = {}
        directions = np.random.default_rng([seed, 3]).standard_normal((3, num_directions))
        gray = np.full((3, 1), 1 / np.sqrt(3))
        directions -= gray * (gray.T @ directions)  # Chroma only: brightness is the photo's and the layers'.
        self.directions = (directions / np.linalg.norm(directions, axis=0, keepdims=True)).astype(np.float32)

    def target(self, paintings: Sequence[np.ndarray], blend_weights: Sequence[float] | None = None) -> tuple:
        """(quantiles (Q, P), directions (3, P)) of the paintings' pixels, float32 (H, W, 3) in [0, 1] each."""
        pixels = [np.asarray(painting, np.float32).reshape(1, -1, 1, 3) for painting in paintings]
        return functional.projected_quantiles(pixels, self.directions, blend_weights), self.directions

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        return functional.sliced_wasserstein_loss(image, *target), {}


class LuminanceLayoutLoss:
    """``layout_loss``: the picture's light and dark masses against the photo's (reads no layers).

    The content layers compare features, and a feature map keeps a flat area's texture, not its
    brightness: with a dark painting, style and colour terms turned a white wall navy while every
    edge stayed. This term compares the luminance of picture and photo low-passed onto a coarse grid
    (`functional.coarse_luminance`), each standardised: how light the picture is overall stays the
    other terms' choice; where it is lighter and darker is the photo's.

    Args:
        weight: The term's weight in the objective.
        cells: The grid's side (12: masses of about a twelfth of the picture's side).
    """

    key = "layout_loss"
    reads = "photo_pixels"

    def __init__(self, weight: float = 1.0, cells: int = 12):
        self.weight = weight
        self.cells = cells
        self.layer_weights: dict[str, float] = {}

    def target(self, photo) -> Tensor:
        """The photo's coarse luminance, (B, cells, cells, 1), from the photo (H, W, 3) or photos
        (B, H, W, 3) in [0, 1]."""
        photo = keras.ops.convert_to_tensor(photo, "float32")
        return functional.coarse_luminance(photo if len(photo.shape) == 4 else photo[None], self.cells)

    def __call__(self, image, features, target) -> tuple[Tensor, dict]:
        return functional.layout_loss(image, target), {}


class TotalVariationLoss:
    """``tv_loss``: mean squared difference between neighbouring pixels (reads no layers).

    Args:
        weight: The term's weight in the objective.
        wrap: Opposite sides are neighbours too (a picture that tiles).
    """

    key = "tv_loss"
    reads = None

    def __init__(self, weight: float = 1.0, wrap: bool = False):
        self.weight = weight
        self.wrap = wrap
        self.layer_weights: dict[str, float] = {}

    def __call__(self, image, features, target=None) -> tuple[Tensor, dict]:
        return functional.tv_loss(image, wrap=self.wrap), {}
