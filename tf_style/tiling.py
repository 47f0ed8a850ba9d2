"""Where overlapping tiles go, and how much each counts in an overlap: shared by the fast networks'
tiled painting (`tf_style.inference.tiles`) and image optimisation's tiled scales.

Tiles are squares of `tile_size` (cut to the picture's side when it is shorter) whose neighbours
share at least `overlap` pixels; in an overlap, a tile's weight falls linearly to zero towards
its inner edge, so blended tiles leave no seam.
"""

from __future__ import annotations

import numpy as np


def tile_starts(length: int, tile_size: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile_size` covering `length` with at least `overlap` in common."""
    if length <= tile_size:
        return [0]
    count = int(np.ceil((length - overlap) / (tile_size - overlap)))
    return [round(index * (length - tile_size) / (count - 1)) for index in range(count)]


def tile_boxes(size, tile_size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of every tile covering a picture of `size` (height, width), row by row."""
    height, width = size
    return [
        (top, min(top + tile_size, height), left, min(left + tile_size, width))
        for top in tile_starts(height, tile_size, overlap)
        for left in tile_starts(width, tile_size, overlap)
    ]


def blend_ramp(start: int, end: int, total: int, overlap: int) -> np.ndarray:
    """Weights along one axis of the tile spanning [start, end) of `total`: rising over `overlap`
    pixels at inner edges (where a neighbour overlaps), 1 elsewhere; float32 (end - start,)."""
    weights = np.ones(end - start, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if end < total:
        weights[-overlap:] = np.minimum(weights[-overlap:], ramp[::-1])
    return weights


def blend_weights(box, size, overlap: int) -> np.ndarray:
    """A tile's (h, w, 1) float32 weights in [0, 1] for the picture of `size`: see `blend_ramp`."""
    top, bottom, left, right = box
    height, width = size
    return np.outer(blend_ramp(top, bottom, height, overlap), blend_ramp(left, right, width, overlap))[..., None]
