"""The loss functions of style transfer, image and model optimisation alike (pure tensor maths).

Written in ``keras.ops``, so they run on any Keras backend: TensorFlow for the
library, JAX for training on an accelerator machine without TensorFlow
(``scripts/train_on_jax.py``).

`tf_style.losses.terms` wraps them into weighted terms and `tf_style.losses.objective`
sums the terms.

Normalisation, chosen so that one set of weights gives similar pictures at any
image size, with any number of style images, and on either backbone:

* ``gram_matrix`` divides by the number of positions (H * W): a Gram matrix is
  then a mean of feature products, the same at 256 px and 2048 px.
* ``style_layer_loss`` is the squared Frobenius distance between Gram matrices
  relative to the target's squared norm, ||G - A||^2 / ||A||^2. Each layer then
  contributes a dimensionless number of order one at the start, whatever its
  channel count or the scale of its activations (which differ by orders of
  magnitude between ``block1`` and ``block5``, between backbones and between
  average and max pooling).
* Several style images are blended by averaging their Gram matrices with weights
  that sum to one. Since sum_k w_k ||G - A_k||^2 = ||G - sum_k w_k A_k||^2 + const,
  this has exactly the gradient of the weighted sum of per-style losses, at the
  cost of one.
* ``content_loss`` is the same relative squared distance on raw features,
  ||F - P||^2 / ||P||^2, also size independent.
* ``tv_loss`` is the mean over pixels of squared differences between
  neighbours (images in [0, 1]): squared, not absolute, so it is smooth for
  L-BFGS; a mean, so it does not grow with the pixel count.
* Per-layer weights are divided by their sum, so adding layers does not change
  the overall balance between content and style.

Gatys et al. sum squared errors with 1 / (4 N^2 M^2) (style) and 1/2
(content) factors, which makes good weights depend on the size and the layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import ops

from tf_style import color

_EPSILON = 1e-8
# A coarse luminance grid's variance below which it counts as flat (a standard deviation of 1 %).
_FLAT_VARIANCE = 1e-4


def gram_matrix(features):
    """Channel co-occurrence of feature maps.

    Args:
        features: (B, H, W, C) activations.

    Returns:
        (B, C, C) float32: ``G[b, i, j] = mean over positions of F[b, :, :, i] * F[b, :, :, j]``.
    """
    features = ops.cast(features, "float32")
    if keras.backend.backend() == "tensorflow":
        return _tensorflow_gram_matrix()(features)
    flat = _positions(features)
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / ops.cast(flat.shape[1], "float32")


def _positions(maps):
    """(B, H, W, C) -> (B, H * W, C): one row per position."""
    shape = ops.shape(maps)
    return ops.reshape(maps, (shape[0], shape[1] * shape[2], shape[3]))


_TF_GRAM = []


def _tensorflow_gram_matrix():
    """`gram_matrix` for TensorFlow, with its gradient written out (built once, on first use).

    With G = F^T F / n for F the (n, C) feature matrix, dL/dF = F (dL/dG + dL/dG^T) / n:
    one matrix product, where automatic differentiation of F^T F takes one per operand
    and adds them (5 % of an evaluation; docs/benchmarks.md).
    """
    if not _TF_GRAM:
        import tensorflow as tf

        @tf.custom_gradient
        def gram(features):
            shape = tf.shape(features)
            positions = shape[1] * shape[2]
            flat = tf.reshape(features, [shape[0], positions, shape[3]])
            scale = 1.0 / tf.cast(positions, tf.float32)
            result = tf.matmul(flat, flat, transpose_a=True) * scale

            def gradient(upstream):
                symmetric = (upstream + tf.transpose(upstream, [0, 2, 1])) * scale
                return tf.reshape(tf.matmul(flat, symmetric), shape)

            return result, gradient

        _TF_GRAM.append(gram)
    return _TF_GRAM[0]


def masked_gram_matrix(features, mask):
    """The Gram matrix of a region: positions weighed by a mask.

    Args:
        features: (B, H, W, C) activations.
        mask: (B, H, W, 1) or (1, H, W, 1) weights in [0, 1].

    Returns:
        (B, C, C) float32: ``sum_p m(p) F(p) F(p)^T / sum_p m(p)``; with an all-ones
        mask, `gram_matrix`.
    """
    features = ops.cast(features, "float32")
    mask = ops.cast(mask, "float32")
    flat, weighted = _positions(features), _positions(features * mask)
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), weighted) / (ops.sum(mask) / ops.shape(mask)[0] + _EPSILON)


def relative_squared_error(value, target):
    """||value - target||^2 / ||target||^2 per batch item, averaged over the batch."""
    value = ops.cast(value, "float32")
    target = ops.cast(target, "float32")
    axes = tuple(range(1, len(value.shape)))
    error = ops.sum(ops.square(value - target), axis=axes)
    scale = ops.sum(ops.square(target), axis=axes) + _EPSILON
    return ops.mean(error / scale)


def content_loss(features, target_features):
    """Relative squared distance of feature maps (B, H, W, C); a float32 scalar."""
    return relative_squared_error(features, target_features)


def style_layer_loss(features, target_gram):
    """Relative squared distance between the Gram matrix of `features` and a target.

    Args:
        features: (B, H, W, C) activations of the image being optimised.
        target_gram: (1, C, C) or (B, C, C) target Gram matrix.

    Returns:
        float32 scalar.
    """
    return relative_squared_error(gram_matrix(features), target_gram)


def blend_grams(grams: Sequence, blend_weights: Sequence[float] | None = None):
    """Weighted mean of several styles' Gram matrices (weights normalised to sum 1)."""
    if blend_weights is None:
        blend_weights = [1.0] * len(grams)
    total = float(sum(blend_weights))
    return add_all([gram * (weight / total) for gram, weight in zip(grams, blend_weights)])


def tv_loss(images, wrap: bool = False):
    """Total-variation smoothness: mean squared difference between neighbouring pixels.

    Args:
        images: (B, H, W, C) in [0, 1].
        wrap: Also count the last row's and column's differences to the first
            (a picture that tiles: its opposite sides are neighbours).

    Returns:
        float32 scalar: mean over (B, H-1, W, C) of dy^2 plus mean over (B, H, W-1, C) of dx^2
        (H and W pairs each when `wrap`).
    """
    images = ops.cast(images, "float32")
    if wrap:
        images = ops.concatenate([images, images[:, :1]], axis=1)
        images = ops.concatenate([images, images[:, :, :1]], axis=2)
        vertical = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
        horizontal = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
    else:
        vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
        horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(vertical)) + ops.mean(ops.square(horizontal))


def coarse_luminance(images, cells: int = 12):
    """The light and dark masses of pictures: their luminance low-passed onto a coarse grid, standardised.

    Args:
        images: (B, H, W, 3) RGB in [0, 1].
        cells: The grid's side: the luminance (BT.601) is resized to `cells` x `cells` with an
            antialiasing filter, whatever the pictures' size and aspect ratio.

    Returns:
        (B, cells, cells, 1) float32, each picture's grid at zero mean and unit variance (a flat
        picture's stays near 0), so that only where it is lighter or darker counts, not how light
        it is overall.
    """
    images = ops.cast(images, "float32")
    luminance = ops.sum(images * ops.convert_to_tensor(color.LUMA), axis=-1, keepdims=True)
    coarse = ops.image.resize(luminance, (cells, cells), interpolation="bilinear", antialias=True)
    centred = coarse - ops.mean(coarse, axis=(1, 2, 3), keepdims=True)
    return centred / ops.sqrt(ops.mean(ops.square(centred), axis=(1, 2, 3), keepdims=True) + _FLAT_VARIANCE)


def layout_loss(images, target_layout):
    """Mean squared difference of `coarse_luminance` grids: 2 (1 - correlation) for pictures that are not
    flat, from 0 (the same light and dark masses) to 4 (turned over); a float32 scalar.

    Args:
        images: (B, H, W, 3) RGB in [0, 1].
        target_layout: (B, cells, cells, 1) or (1, cells, cells, 1), from `coarse_luminance`.
    """
    return ops.mean(ops.square(coarse_luminance(images, int(target_layout.shape[1])) - target_layout))


def sorted_projections(features, projections):
    """Feature vectors projected on some directions, each direction's values sorted.

    Args:
        features: (B, H, W, C) activations.
        projections: (C, P) directions (columns).

    Returns:
        (B, H * W, P) float32, ascending along axis 1.
    """
    flat = _positions(ops.cast(features, "float32"))
    return ops.sort(ops.matmul(flat, ops.cast(projections, "float32")), axis=1)


def resample_quantiles(quantiles, count: int):
    """(Q, P) values at Q evenly spaced quantiles -> (count, P) at `count` of them, linearly interpolated.

    Quantile i of n sits at probability (i + 1/2) / n; NumPy in, NumPy out.
    """
    quantiles = np.asarray(quantiles, np.float32)
    known = (np.arange(len(quantiles)) + 0.5) / len(quantiles)
    wanted = (np.arange(count) + 0.5) / count
    return np.stack([np.interp(wanted, known, column) for column in quantiles.T], axis=1).astype(np.float32)


def sliced_wasserstein_loss(features, target_quantiles, projections):
    """Squared sliced Wasserstein-2 distance of the feature distribution to a target, relative to its spread.

    Each feature vector (one per position) is projected on every direction; the
    sorted projections are compared with the target's quantiles (Heitz et al.,
    CVPR 2021). With the channel axes as directions this is the per-channel
    histogram loss (Risser et al., 2017).

    Args:
        features: (B, H, W, C) activations; H and W known when traced.
        target_quantiles: (Q, P) NumPy: the target's projected values at Q evenly
            spaced quantiles (`projected_quantiles`).
        projections: (C, P) the same directions.

    Returns:
        float32 scalar: mean squared difference of sorted values over the mean
        squared deviation of the target's values from their mean per direction.
    """
    values = sorted_projections(features, projections)
    target = resample_quantiles(target_quantiles, values.shape[1])
    spread = float(np.mean(np.square(target - target.mean(axis=0)))) + _EPSILON
    return ops.mean(ops.square(values - ops.convert_to_tensor(target)[None])) / spread


def projected_quantiles(
    features_per_style: Sequence, projections, blend_weights: Sequence[float] | None = None, count: int = 4096
) -> np.ndarray:
    """The paintings' feature distribution, projected on `projections`, at `count` evenly spaced quantiles.

    Several paintings make one mixture: each painting's positions weigh its blend
    weight (normalised to sum 1) divided by its number of positions.

    Args:
        features_per_style: Each painting's (1, h, w, C) activations.
        projections: (C, P) directions.
        blend_weights: One positive weight per painting; None for equal.
        count: Quantiles to keep.

    Returns:
        (count, P) float32 NumPy array, ascending down each column.
    """
    projections = np.asarray(projections, np.float32)
    features_per_style = list(features_per_style)
    blend_weights = blend_weights if blend_weights is not None else [1.0] * len(features_per_style)
    values, weights = [], []
    for features, weight in zip(features_per_style, blend_weights):
        flat = np.asarray(ops.convert_to_numpy(features), np.float32).reshape(-1, projections.shape[0])
        values.append(flat @ projections)
        weights.append(np.full(len(flat), weight / len(flat)))
    values, weights = np.concatenate(values), np.concatenate(weights)
    weights = weights / weights.sum()
    order = np.argsort(values, axis=0)
    wanted = (np.arange(count) + 0.5) / count
    columns = []
    for column in range(values.shape[1]):
        sorted_weights = weights[order[:, column]]
        probabilities = np.cumsum(sorted_weights) - sorted_weights / 2  # Each sample at its mass's middle.
        columns.append(np.interp(wanted, probabilities, values[order[:, column], column]))
    return np.stack(columns, axis=1).astype(np.float32)


def feature_patches(features, size: int = 3):
    """Every `size` x `size` patch of feature maps (B, H, W, C), flattened: (B, (H-size+1)(W-size+1), size*size*C)."""
    return _positions(ops.image.extract_patches(ops.cast(features, "float32"), size, strides=1, padding="valid"))


def mrf_loss(features, target_patches, size: int = 3):
    """Distance of each feature patch to its most similar painting patch (Li & Wand, CVPR 2016), relative.

    Patches are matched by normalised cross-correlation (cosine similarity); the
    match is held fixed (no gradient through the choice), as in the paper.

    Args:
        features: (B, H, W, C) activations.
        target_patches: (M, size*size*C) the painting's patches (`feature_patches`).
        size: Patch side.

    Returns:
        float32 scalar: mean over patches of ||p - nearest||^2, over the mean ||t||^2
        of the painting's patches.
    """
    patches = feature_patches(features, size)
    target = ops.cast(target_patches, "float32")
    unit = patches / (ops.norm(patches, axis=-1, keepdims=True) + _EPSILON)
    target_unit = target / (ops.norm(target, axis=-1, keepdims=True) + _EPSILON)
    nearest = ops.argmax(ops.matmul(unit, ops.transpose(target_unit)), axis=-1)
    matched = ops.take(target, nearest, axis=0)
    error = ops.mean(ops.sum(ops.square(patches - ops.stop_gradient(matched)), axis=-1))
    return error / (ops.mean(ops.sum(ops.square(target), axis=-1)) + _EPSILON)


def local_affine_statistics(guide, epsilon: float = 1e-5, radius: int = 1):
    """What the matting Laplacian of a photo needs, per window: its pixels' offsets from the window's
    mean, and the inverse of the window's regularised covariance.

    Levin, Lischinski & Weiss (2008), "A Closed-Form Solution to Natural Image
    Matting": in each (2r+1) x (2r+1) window of the guide I, a picture that is an
    affine function of I's colours (V = a^T I + b) costs (almost) nothing.
    Computed once per photo in NumPy float64 (a nearly flat window's inverse
    covariance is large).

    Args:
        guide: (H, W, 3) photo in [0, 1].
        epsilon: Regularises the affine coefficients (larger: smoother, less
            faithful to the photo's edges).
        radius: Window radius r.

    Returns:
        (offsets (H', W', n, 3), inverses (H', W', 3, 3)) float32, one per window
        lying wholly inside the photo (H' = H - 2r, W' = W - 2r, n = (2r+1)^2):
        ``offsets[k, i] = I_i - mu_k`` for the window's pixels in row-major order,
        ``inverses[k] = (n S_k + epsilon I)^-1`` with S_k the window's covariance.
    """
    guide = np.asarray(guide, np.float64)
    size = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(guide, (size, size), axis=(0, 1))  # (H', W', 3, s, s)
    windows = windows.reshape(*windows.shape[:3], size * size).transpose(0, 1, 3, 2)  # (H', W', n, 3)
    offsets = windows - windows.mean(axis=2, keepdims=True)
    scatter = np.einsum("hwpi,hwpj->hwij", offsets, offsets)
    inverses = np.linalg.inv(scatter + epsilon * np.eye(3))
    return offsets.astype(np.float32), inverses.astype(np.float32)


def matting_laplacian_loss(images, offsets, inverses, epsilon: float = 1e-5, radius: int = 1):
    """The matting Laplacian's quadratic form: how far a picture is from locally affine in the photo.

    For the picture's channels V_c, sum_c V_c^T L V_c with L the matting
    Laplacian of the photo (Luan et al. 2017, "Deep Photo Style Transfer", add it
    to keep a picture photorealistic). That quadratic form is the sum over
    windows of the residual of the best affine fit of the picture to the photo,

        min over (a, b) of sum_i (V_i - a^T I_i - b)^2 + epsilon ||a||^2,

    and that is how it is computed here: the fit has a closed form per window
    (a = (n S + epsilon I)^-1 sum_i (I_i - mu)(V_i - mean V)), and the residuals are
    squared directly. The same number as the sparse HW x HW matrix
    (`tests/losses/test_photorealism.py` builds it and compares), without building
    it, and without the cancellation of the matrix's expanded form (a difference
    of large sums, whose float32 rounding hid the progress of late steps).

    Args:
        images: (B, H, W, C) pictures in [0, 1].
        offsets, inverses: From `local_affine_statistics` of the photo (with a
            leading batch axis of 1, or without).
        epsilon, radius: As given to `local_affine_statistics`.

    Returns:
        float32 scalar: the residual per window, averaged over windows, channels
        and the batch.
    """
    images = ops.cast(images, "float32")
    size = 2 * radius + 1
    height, width = images.shape[1] - 2 * radius, images.shape[2] - 2 * radius
    # (B, H', W', n, C): each window's pixels, row-major, as in `offsets`.
    values = ops.stack(
        [images[:, dy : dy + height, dx : dx + width, :] for dy in range(size) for dx in range(size)], axis=3
    )
    values = values - ops.mean(values, axis=3, keepdims=True)
    correlation = ops.einsum("...ng,...nc->...gc", offsets, values)  # (B, H', W', 3, C)
    coefficients = ops.einsum("...gh,...hc->...gc", inverses, correlation)
    residuals = values - ops.einsum("...ng,...gc->...nc", offsets, coefficients)
    energy = ops.sum(ops.square(residuals), axis=3) + epsilon * ops.sum(ops.square(coefficients), axis=3)
    return ops.mean(energy)


def weighted_layer_sum(per_layer: Mapping, layer_weights: Mapping[str, float]):
    """Sum of per-layer losses with weights normalised to sum 1."""
    total = float(sum(layer_weights.values()))
    return add_all([per_layer[name] * (weight / total) for name, weight in layer_weights.items()])


def add_all(tensors: Sequence):
    """The sum of a non-empty list of tensors."""
    result = tensors[0]
    for tensor in tensors[1:]:
        result = result + tensor
    return result
