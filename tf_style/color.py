"""Colour statistics and colour transfer between images.

Every image here is a float32 NumPy array ``(height, width, 3)``, RGB in [0, 1].
The matrices are 3 x 3, so NumPy is enough; nothing here starts TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Colour statistics are estimated from at most this many pixels, on a regular grid: they settle
# long before that, and all the pixels of a large scan took seconds.
_STATISTICS_PIXELS = 2**18

# ITU-R BT.601 luma and the YIQ chroma axes.
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], dtype=np.float32
)
LUMA = _RGB_TO_YIQ[0]  # RGB -> luminance (BT.601): ``image @ LUMA``.
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def transfer_luminance(stylized_image: np.ndarray, content_image: np.ndarray) -> np.ndarray:
    """Keeps the content's colours and takes only the brightness of the stylised picture.

    The luminance-only transfer of Gatys et al., "Preserving Color in Neural
    Artistic Style Transfer" (2016): Y of the stylised image, I and Q of the content.
    Both inputs are (H, W, 3) RGB in [0, 1] of the same size; so is the result.
    """
    stylized_yiq = stylized_image @ _RGB_TO_YIQ.T
    content_yiq = content_image @ _RGB_TO_YIQ.T
    combined = np.concatenate([stylized_yiq[..., :1], content_yiq[..., 1:]], axis=-1)
    return np.clip(combined @ _YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def match_color_histogram(source_image: np.ndarray, reference_image: np.ndarray) -> np.ndarray:
    """Recolours `source_image` so its colour mean and covariance equal the reference's.

    The linear colour transfer of Gatys et al. (2016), used to give the style image
    the content's palette before style transfer (and, for ``init="recolored_content"``,
    the photo the painting's). See `match_color_statistics`.

    Args:
        source_image: (H, W, 3) RGB in [0, 1], the image to recolour.
        reference_image: (H', W', 3) RGB in [0, 1], whose colours to take.

    Returns:
        (H, W, 3) RGB in [0, 1].
    """
    return match_color_statistics(source_image, *color_statistics([reference_image]))


def color_statistics(
    images: Sequence[np.ndarray], weights: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3,) and covariance (3, 3) of the RGB pixels of one or several images.

    Several images with `weights` (normalised to sum to 1) give the statistics
    of their mixture: each image contributes its weight, whatever its size.
    Images are (H, W, 3) RGB in [0, 1]; one larger than 2^18 pixels is sampled
    on a regular grid of about that many.
    """
    weights = np.ones(len(images)) if weights is None else np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    pixels = [_grid_sample(image).reshape(-1, 3).astype(np.float64) for image in images]
    means = [values.mean(0) for values in pixels]
    mean = sum(weight * image_mean for weight, image_mean in zip(weights, means))
    second_moment = sum(
        weight * (np.cov(values, rowvar=False, bias=True) + np.outer(image_mean, image_mean))
        for weight, values, image_mean in zip(weights, pixels, means)
    )
    return mean, second_moment - np.outer(mean, mean)


def _grid_sample(image: np.ndarray) -> np.ndarray:
    """Every k-th row and column of `image`, with k the smallest keeping at most _STATISTICS_PIXELS."""
    stride = max(1, math.ceil(math.sqrt(image.shape[0] * image.shape[1] / _STATISTICS_PIXELS)))
    return image[::stride, ::stride]


def match_color_statistics(source_image: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Recolours `source_image` (H, W, 3) RGB in [0, 1] to the given colour mean and covariance.

    With S the source's covariance and R the target's, each pixel p becomes
    R^1/2 S^-1/2 (p - mean_s) + mean, the matrix square roots taken by
    eigendecomposition (3 x 3, so NumPy is enough). Returns (H, W, 3) in [0, 1].
    """
    source_mean, source_cov = color_statistics([source_image])
    eps = 1e-5 * np.eye(3)
    transform = _matrix_power(covariance + eps, 0.5) @ _matrix_power(source_cov + eps, -0.5)
    matched = (source_image.reshape(-1, 3).astype(np.float64) - source_mean) @ transform.T + mean
    return np.clip(matched.reshape(source_image.shape), 0.0, 1.0).astype(np.float32)


def _matrix_power(symmetric: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.maximum(values, 1e-12) ** power) @ vectors.T


# Cells along the longer side of the grid `restore_luminance_layout` low-passes onto.
LAYOUT_GRID = 16


def restore_luminance_layout(
    picture: np.ndarray, photo: np.ndarray, strength: float = 1.0, grid: int = LAYOUT_GRID
) -> np.ndarray:
    """Gives a picture back the photo's coarse layout of light and dark, keeping its own strokes and brightness.

    Both luminances (BT.601) are low-passed onto a grid of `grid` cells along the
    longer side (box-filtered down, bicubic up). The picture's low-pass is moved
    towards the photo's, shifted to the picture's mean: ``picture + strength *
    (photo_low - mean(photo_low) + mean(picture_low) - picture_low)``, the same
    shift for R, G and B. Finer detail (the strokes) and the overall brightness
    stay the picture's; where a transform turned a white wall navy, it turns light again.

    Args:
        picture: (H, W, 3) RGB in [0, 1].
        photo: (H, W, 3) RGB in [0, 1], the same size.
        strength: 0 leaves the picture as it is; 1 takes the photo's coarse layout.
        grid: Cells along the longer side.

    Returns:
        (H, W, 3) RGB in [0, 1].
    """
    from PIL import Image

    height, width = picture.shape[:2]
    cells = (max(1, round(grid * width / max(height, width))), max(1, round(grid * height / max(height, width))))

    def low_pass(luminance: np.ndarray) -> np.ndarray:
        coarse = Image.fromarray(luminance.astype(np.float32), "F").resize(cells, Image.Resampling.BOX)
        return np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.float32)

    picture_low = low_pass(picture @ LUMA)
    photo_low = low_pass(photo @ LUMA)
    shift = strength * (photo_low - photo_low.mean() + picture_low.mean() - picture_low)
    return np.clip(picture + shift[..., None], 0.0, 1.0).astype(np.float32)
