"""Painting large images in overlapping, feathered tiles: bounded memory, no seams.

Images are (H, W, 3) RGB, float32 in [0, 1] or uint8 in 0-255.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from tf_style.errors import ConfigError
from tf_style.tiling import blend_weights, tile_starts

# Paints one (h, w, 3) image in [0, 1] into one of the same shape.
StyleFunction = Callable[[np.ndarray], np.ndarray]
# Finished rows are handed on this many at a time, so what the caller does with them (colours,
# strength, bytes) makes temporaries of this many rows, not of a whole row of tiles.
_ROWS_PER_BAND = 128


def paint_bands(
    style_function: StyleFunction, image: np.ndarray, tile_size: int | None, overlap: int = 64
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Paints `image` in overlapping square tiles, giving finished rows as soon as no tile will touch them.

    Each pixel of an overlap is a weighted mean of the tiles covering it, the
    weights falling linearly to zero towards each tile's inner edges, so there is
    no seam and no grid. Only one row of tiles is held at a time, so memory
    follows the tile size and the image's width, not its area.

    Args:
        style_function: Paints one (h, w, 3) float32 image in [0, 1].
        image: (H, W, 3), float32 in [0, 1] or uint8 in 0-255 (read one tile at a time).
        tile_size: Side of the tiles; None, or an image within it, runs whole.
        overlap: Pixels neighbouring tiles share.

    Yields:
        (top, bottom, painted): rows top to bottom - 1 of the picture, float32
        (bottom - top, W, 3) in [0, 1], in order, covering the image once.
    """
    height, width = image.shape[:2]
    if tile_size is None or (height <= tile_size and width <= tile_size):
        yield 0, height, style_function(as_float(image))
        return
    if tile_size < 2 * overlap or overlap < 1:
        raise ConfigError(f"tile size {tile_size} must be at least twice the overlap {overlap} (>= 1)")
    tops, lefts = tile_starts(height, tile_size, overlap), tile_starts(width, tile_size, overlap)
    # Rows first .. first + tile_size - 1 of the weighted sums, allocated once and shifted up as rows finish.
    first = 0
    total = np.zeros((tile_size, width, 3), np.float32)
    weight_sum = np.zeros((tile_size, width, 1), np.float32)
    for index, top in enumerate(tops):
        bottom = min(top + tile_size, height)
        for left in lefts:
            right = min(left + tile_size, width)
            tile = style_function(as_float(image[top:bottom, left:right]))
            weights = blend_weights((top, bottom, left, right), (height, width), overlap)
            total[top - first : bottom - first, left:right] += tile * weights
            weight_sum[top - first : bottom - first, left:right] += weights
        done = (tops[index + 1] if index + 1 < len(tops) else height) - first
        for start in range(0, done, _ROWS_PER_BAND):  # Finished rows, a few at a time: small temporaries.
            stop = min(start + _ROWS_PER_BAND, done)
            yield first + start, first + stop, total[start:stop] / weight_sum[start:stop]
        kept = bottom - first - done  # Rows the next row of tiles overlaps: moved to the top.
        total[:kept], weight_sum[:kept] = total[done : done + kept], weight_sum[done : done + kept]
        total[kept:], weight_sum[kept:] = 0.0, 0.0
        first += done


def run_tiled(style_function: StyleFunction, image: np.ndarray, tile_size: int, overlap: int = 64) -> np.ndarray:
    """The whole picture `paint_bands` gives, as one float32 (H, W, 3) array in [0, 1]."""
    return np.concatenate([painted for _, _, painted in paint_bands(style_function, image, tile_size, overlap)])


def as_float(image: np.ndarray) -> np.ndarray:
    """An image as float32 in [0, 1]: uint8 0-255 scaled, floats as they are."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.asarray(image, np.float32)
