"""The objective: a weighted sum of loss terms, with each term reported.

Image optimisation minimises it over the picture; training minimises it over
the network's weights, one batch at a time. Both call it the same way:

    losses = objective(image, extractor(image), targets)
    losses["total_loss"]  # sum over terms of term.weight * losses[term.key]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Tensor = Any  # A tensor of the Keras backend (tf.Tensor under TensorFlow).


class Objective:
    """Sums loss terms (see `tf_style.losses.terms`) into ``total_loss``.

    Args:
        terms: The terms, each with a distinct `key`, in the order they are summed.

    Example:
        >>> objective = Objective([ContentLoss({"block4_conv2": 1.0}), TotalVariationLoss(10.0)])  # doctest: +SKIP
        >>> losses = objective(image, extractor(image), {"content_loss": photo_features})  # doctest: +SKIP
    """

    def __init__(self, terms: Sequence):
        keys = [term.key for term in terms]
        if not terms or len(set(keys)) != len(keys):
            raise ValueError(f"an objective needs terms with distinct keys, got {keys}")
        self.terms = tuple(terms)

    @property
    def feature_layers(self) -> tuple[str, ...]:
        """Every loss-network layer some term reads, in the terms' order, each once."""
        return tuple(dict.fromkeys(name for term in self.terms for name in term.layer_weights))

    def term(self, key: str):
        """The term whose `key` is `key` (KeyError if there is none)."""
        for term in self.terms:
            if term.key == key:
                return term
        raise KeyError(key)

    def __call__(
        self, image: Tensor, features: Mapping[str, Tensor], targets: Mapping[str, object]
    ) -> dict[str, Tensor]:
        """The losses of `image`.

        Args:
            image: The picture batch (B, H, W, 3) in [0, 1].
            features: The loss network's ``{layer: activations}`` of `image`.
            targets: {term key: that term's target}; terms without one (tv) need none.

        Returns:
            ``{"total_loss": ..., <term key>: unweighted value, ..., <details>}``, float32 scalars.
        """
        total = None
        values, details = {}, {}
        for term in self.terms:
            value, extra = term(image, features, targets.get(term.key))
            weighted = term.weight * value
            total = weighted if total is None else total + weighted
            values[term.key] = value
            details.update(extra)
        return {"total_loss": total, **values, **details}
