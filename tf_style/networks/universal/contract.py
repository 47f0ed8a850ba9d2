"""What the universal networks' callers share: input names, statistics, blending, image alignment (NumPy only).

The Keras models (`tf_style.networks.universal.model`) and their TFLite files
(`tf_style.export.universal`) take and give these names; the TFLite runner uses
this module without TensorFlow.

Statistics: a dict by name, per level ``relu{k}_1_mean`` (1, C) and, for WCT,
``relu{k}_1_root`` (1, C, C) (the covariance's square root) or, for AdaIN,
``relu{k}_1_std`` (1, C).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tf_style.errors import ConfigError

TRANSFORMS = ("wct", "adain")
PAINTING_NAME = "painting"
STYLE_STRENGTH_NAME = "style_strength"
# Pixels of the photo mirrored beyond each edge before the transfer (`pad_for_transfer`).
BORDER_MARGIN = 16


def check_transform(transform: str) -> None:
    """ConfigError unless `transform` is one of `TRANSFORMS`."""
    if transform not in TRANSFORMS:
        raise ConfigError(f"unknown transform {transform!r}; choose one of {', '.join(TRANSFORMS)}")


def statistic_names(level: int, transform: str) -> tuple[str, str]:
    """The names of a level's two statistics: its mean, and its covariance root (WCT) or std (AdaIN)."""
    return f"relu{level}_1_mean", f"relu{level}_1_{'root' if transform == 'wct' else 'std'}"


def blend_statistics(statistics: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float]) -> dict[str, np.ndarray]:
    """The weighted sum of several paintings' statistics (weights >= 0, normalised to sum 1).

    WCT's output is linear in the painting's mean and covariance root, so this
    paints exactly the weighted sum of the paintings' transformed features.
    """
    weights = np.asarray(weights, np.float64)
    if len(statistics) != len(weights) or not len(weights):
        raise ConfigError(f"{len(weights)} weights for {len(statistics)} paintings")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ConfigError("painting weights must be finite, at least 0, and not all 0")
    weights = weights / weights.sum()
    return {
        name: sum(weight * np.asarray(each[name], np.float64) for weight, each in zip(weights, statistics)).astype(
            np.float32
        )
        for name in statistics[0]
    }


def pad_for_transfer(image: np.ndarray, alignment: int, margin: int = BORDER_MARGIN) -> tuple[np.ndarray, slice, slice]:
    """`image` (H, W, 3) mirrored outward by `margin` pixels a side, then to sides that are multiples of
    `alignment` (and at least twice it: the decoders pad by reflection); with the rows and columns
    that hold the image again.

    The encoder pads with zeros; without the margin its border features differ from the inside's,
    and the transforms paint them as a dark frame around the picture.
    """
    height, width = image.shape[:2]
    padded = np.pad(image, ((margin, margin), (margin, margin), (0, 0)), mode="symmetric")
    padded_height, padded_width = (max(2 * alignment, -(-side // alignment) * alignment) for side in padded.shape[:2])
    padded = np.pad(
        padded, ((0, padded_height - padded.shape[0]), (0, padded_width - padded.shape[1]), (0, 0)), mode="symmetric"
    )
    return padded, slice(margin, margin + height), slice(margin, margin + width)
