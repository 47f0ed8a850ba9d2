"""Edge-keeping smoothing of a picture, guided by the photo: the last step of photorealistic transfer.

Decoded pictures carry small distortions: a wobble along an edge, texture in a
clear sky. The guided filter (He et al., ECCV 2010 and TPAMI 2013) replaces the
picture, window by window, by the affine function of the photo's colours that
best fits it:

    picture ~ A(window) @ photo + b(window)        (A: 3 x 3, b: 3, per window)

and averages the fits of the windows over each pixel. The result takes the
picture's colours and the photo's edges: where the photo has an edge, so does
the result, and nowhere else. Li et al. (ECCV 2018) smooth photorealistic WCT
this way (their fast variant); `epsilon` trades how closely the colour fit
follows the picture against how smooth it is.

Only means over boxes and element-wise arithmetic (the 3 x 3 inverse by
cofactors): it converts to TFLite as it is. Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import tensorflow as tf

# The box's radius in pixels and the fit's regulariser (colours in [0, 1]) of photorealistic transfer.
# On 6 Kodak pairs at 512 px (relu2_1 + relu1_1), edge agreement with the photo went 0.79 unsmoothed,
# 0.84 at radius 8, 0.85 at 16 and 32; the colour-histogram distance to the style photo rose with the
# radius (0.38, 0.39, 0.40, 0.42): 16 keeps most of the look. Epsilon 1e-2 lost edges (0.82 at 32).
SMOOTHING_RADIUS = 16
SMOOTHING_EPSILON = 1e-3

# The six distinct products of a 3 x 3 symmetric matrix, (row, column).
_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def box_mean(images: tf.Tensor, radius: int) -> tf.Tensor:
    """The mean of each (2r+1) x (2r+1) window, over the pixels inside the image (B, H, W, C) -> same shape."""
    size = 2 * radius + 1
    # Average pooling with SAME padding divides by the pixels inside the image: no dark border.
    rows = tf.nn.avg_pool2d(images, (1, size), 1, "SAME")
    return tf.nn.avg_pool2d(rows, (size, 1), 1, "SAME")


def guided_filter(
    picture: tf.Tensor, guide: tf.Tensor, radius: int = SMOOTHING_RADIUS, epsilon: float = SMOOTHING_EPSILON
) -> tf.Tensor:
    """Smooths `picture` (B, H, W, 3) along the edges of `guide` (B, H, W, 3), both RGB in [0, 1].

    Args:
        picture: What is smoothed.
        guide: Whose edges are kept (the photo).
        radius: Half the side of the windows, in pixels.
        epsilon: Ridge on the guide's colour covariance: larger smooths more.

    Returns:
        float32 (B, H, W, 3), not clipped.
    """
    picture = tf.cast(picture, tf.float32)
    guide = tf.cast(guide, tf.float32)
    channels = [guide[..., i] for i in range(3)]
    values = [picture[..., k] for k in range(3)]
    products = [channels[i] * channels[j] for i, j in _PAIRS]
    cross = [channels[i] * values[k] for i in range(3) for k in range(3)]
    means = tf.unstack(box_mean(tf.stack(channels + values + products + cross, axis=-1), radius), axis=-1)
    guide_mean, value_mean = means[0:3], means[3:6]
    sigma = {}
    for (i, j), product in zip(_PAIRS, means[6:12]):
        sigma[i, j] = sigma[j, i] = product - guide_mean[i] * guide_mean[j] + (epsilon if i == j else 0.0)
    covariance = [
        [means[12 + 3 * i + k] - guide_mean[i] * value_mean[k] for k in range(3)] for i in range(3)
    ]  # covariance[i][k]: guide channel i with picture channel k.
    # The inverse of sigma by its cofactors (it is symmetric, so the adjugate is the cofactor matrix).
    cofactor = {}
    for i in range(3):
        for j in range(i, 3):
            rows = [r for r in range(3) if r != i]
            columns = [c for c in range(3) if c != j]
            minor = (
                sigma[rows[0], columns[0]] * sigma[rows[1], columns[1]]
                - sigma[rows[0], columns[1]] * sigma[rows[1], columns[0]]
            )
            cofactor[i, j] = cofactor[j, i] = minor if (i + j) % 2 == 0 else -minor
    determinant = sum(sigma[0, j] * cofactor[0, j] for j in range(3))
    coefficients, offsets = [], []
    for k in range(3):  # For each picture channel: A[k, :] = inverse(sigma) @ covariance[:, k].
        row = [sum(cofactor[i, j] * covariance[j][k] for j in range(3)) / determinant for i in range(3)]
        coefficients += row
        offsets.append(value_mean[k] - sum(row[i] * guide_mean[i] for i in range(3)))
    averaged = tf.unstack(box_mean(tf.stack(coefficients + offsets, axis=-1), radius), axis=-1)
    smoothed = [sum(averaged[3 * k + i] * channels[i] for i in range(3)) + averaged[9 + k] for k in range(3)]
    return tf.stack(smoothed, axis=-1)
