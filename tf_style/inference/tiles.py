"""Painting large images in overlapping, feathered tiles: bounded memory, no seams.

Images are float32 (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tf_style.errors import ConfigError

# Paints one (h, w, 3) image in [0, 1] into one of the same shape.
StyleFunction = Callable[[np.ndarray], np.ndarray]


def tile_starts(length: int, tile_size: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile_size` covering `length` with at least `overlap` in common."""
    if length <= tile_size:
        return [0]
    count = int(np.ceil((length - overlap) / (tile_size - overlap)))
    return [round(index * (length - tile_size) / (count - 1)) for index in range(count)]


def _ramp(length: int, start: int, end: int, total: int, overlap: int) -> np.ndarray:
    """Blend weights along one axis: rising over `overlap` pixels at inner edges, 1 elsewhere."""
    weights = np.ones(end - start, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if end < total:
        weights[-overlap:] = np.minimum(weights[-overlap:], ramp[::-1])
    return weights


def run_tiled(style_function: StyleFunction, image: np.ndarray, tile_size: int, overlap: int = 64) -> np.ndarray:
    """Paints `image` in overlapping square tiles blended with linear (feathered) weights.

    Each pixel of an overlap is a weighted mean of the tiles covering it, the
    weights falling linearly to zero towards each tile's inner edges, so there
    is no seam and no grid.

    Args:
        style_function: Paints one (h, w, 3) image.
        image: float32 (H, W, 3) in [0, 1].
        tile_size: Side of the tiles; an image within it runs whole.
        overlap: Pixels neighbouring tiles share.

    Returns:
        float32 (H, W, 3) in [0, 1].
    """
    if tile_size < 2 * overlap or overlap < 1:
        raise ConfigError(f"tile size {tile_size} must be at least twice the overlap {overlap} (>= 1)")
    height, width = image.shape[:2]
    if height <= tile_size and width <= tile_size:
        return style_function(image)
    total = np.zeros(image.shape, np.float32)
    weight_sum = np.zeros((*image.shape[:2], 1), np.float32)
    for top in tile_starts(height, tile_size, overlap):
        bottom = min(top + tile_size, height)
        for left in tile_starts(width, tile_size, overlap):
            right = min(left + tile_size, width)
            tile = style_function(image[top:bottom, left:right])
            weights = np.outer(
                _ramp(bottom - top, top, bottom, height, overlap), _ramp(right - left, left, right, width, overlap)
            )[..., None]
            total[top:bottom, left:right] += tile * weights
            weight_sum[top:bottom, left:right] += weights
    return total / weight_sum
