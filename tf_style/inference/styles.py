"""What a multi-style network paints: one of its styles by name, or a blend of styles by weight.

A multi-style network (`tf_style.networks.johnson.transform_net.TransformNet` with
``num_styles`` > 1) takes, beside the photo, a style-weights row (1, num_styles)
float32: non-negative, summing to 1; one-hot for a single style.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from tf_style.errors import ConfigError


def parse_style_weights(text: str) -> dict[str, float]:
    """``"starry_night:0.5,the_scream:0.5"`` -> ``{"starry_night": 0.5, "the_scream": 0.5}``.

    Raises:
        ConfigError: an entry that is not ``name:number``, a name given twice, or a
            weight that is negative or not finite.
    """
    weights: dict[str, float] = {}
    for entry in (part.strip() for part in str(text).split(",")):
        name, colon, value = entry.partition(":")
        name = name.strip()
        try:
            weight = float(value) if colon else math.nan
        except ValueError:
            weight = math.nan
        if not name or not math.isfinite(weight) or weight < 0:
            raise ConfigError(
                f"style weights must be name:weight pairs with weights >= 0, like a:0.5,b:0.5; got {entry!r}"
            )
        if name in weights:
            raise ConfigError(f"style {name!r} is given twice in the style weights")
        weights[name] = weight
    return weights


def style_weights_row(
    style_names: Sequence[str], style: str | None = None, style_weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """The network's style-weights input for one style or a blend.

    Args:
        style_names: The network's styles, in its order.
        style: One style's name; or
        style_weights: {style name: weight >= 0}, normalised to sum 1; styles left out weigh 0.

    Returns:
        float32 (1, len(style_names)).

    Raises:
        ConfigError: neither or both of `style` and `style_weights`, an unknown name,
            or weights that are negative, not finite or all zero.
    """
    names = list(style_names)
    listing = ", ".join(names)
    if (style is None) == (style_weights is None):
        raise ConfigError(
            f"this network paints {len(names)} styles ({listing}): choose one with --style, "
            "or blend them with --style_weights"
        )
    chosen = {style: 1.0} if style is not None else dict(style_weights)
    row = np.zeros((1, len(names)), np.float32)
    for name, weight in chosen.items():
        if name not in names:
            raise ConfigError(f"the network has no style {name!r}; its styles: {listing}")
        if not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"style weights must be finite and >= 0, got {name}:{weight}")
        row[0, names.index(name)] = weight
    total = float(row.sum())
    if total <= 0:
        raise ConfigError("the style weights must not all be zero")
    return row / total
