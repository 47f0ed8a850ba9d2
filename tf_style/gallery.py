"""Contact sheets: grids of pictures with optional labels, for galleries, sweeps and notebooks.

Images are float32 (H, W, 3) RGB in [0, 1]; a cell may be None (left white).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_style.io.images import resize_image


def fit_to_cell(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """`image` shrunk or enlarged to fit (height, width), centred on white."""
    scale = min(height / image.shape[0], width / image.shape[1])
    resized = resize_image(image, (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))))
    cell = np.ones((height, width, 3), np.float32)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    cell[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return cell


def _label(text: str, height: int, width: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text)
    draw.text(((width - (right - left)) // 2, (height - (bottom - top)) // 2 - top), text, fill="black")
    return np.asarray(canvas, np.float32) / 255.0


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray | None]],
    cell_height: int = 192,
    cell_width: int | None = None,
    gap: int = 4,
    column_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Lays pictures out in a grid of equal cells separated by white gaps.

    Args:
        rows: Rows of images (or None for an empty cell); rows may differ in length.
        cell_height: Height of every cell in pixels.
        cell_width: Width of every cell; None for the widest image's width at `cell_height`.
        gap: White pixels between cells.
        column_labels: Optional text above each column.

    Returns:
        float32 (H, W, 3) in [0, 1].
    """
    images = [image for row in rows for image in row if image is not None]
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    if cell_width is None:
        cell_width = max(round(image.shape[1] * cell_height / image.shape[0]) for image in images)
    columns = max(len(row) for row in rows)
    label_height = 16 if column_labels else 0
    height = label_height + len(rows) * cell_height + (len(rows) - 1) * gap
    width = columns * cell_width + (columns - 1) * gap
    sheet = np.ones((height, width, 3), np.float32)
    for index, text in enumerate(column_labels or []):
        left = index * (cell_width + gap)
        sheet[:label_height, left : left + cell_width] = _label(text, label_height, cell_width)
    for row_index, row in enumerate(rows):
        top = label_height + row_index * (cell_height + gap)
        for column_index, image in enumerate(row):
            if image is not None:
                left = column_index * (cell_width + gap)
                sheet[top : top + cell_height, left : left + cell_width] = fit_to_cell(image, cell_height, cell_width)
    return sheet
