"""The loss functions of style transfer, image and model optimisation alike (pure tensor maths).

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

import tensorflow as tf

_EPSILON = 1e-8


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel co-occurrence of feature maps.

    Args:
        features: (B, H, W, C) activations.

    Returns:
        (B, C, C) float32: ``G[b, i, j] = mean over positions of F[b, :, :, i] * F[b, :, :, j]``.
    """
    return _gram_matrix(tf.cast(features, tf.float32))


@tf.custom_gradient
def _gram_matrix(features):
    # With G = F^T F / n for F the (n, C) feature matrix, dL/dF = F (dL/dG + dL/dG^T) / n: one
    # matrix product, where automatic differentiation of F^T F takes one per operand and adds
    # them (5 % of an evaluation; docs/benchmarks.md).
    shape = tf.shape(features)
    positions = shape[1] * shape[2]
    flat = tf.reshape(features, [shape[0], positions, shape[3]])
    scale = 1.0 / tf.cast(positions, tf.float32)
    gram = tf.matmul(flat, flat, transpose_a=True) * scale

    def gradient(upstream):
        symmetric = (upstream + tf.transpose(upstream, [0, 2, 1])) * scale
        return tf.reshape(tf.matmul(flat, symmetric), shape)

    return gram, gradient


def relative_squared_error(value: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """||value - target||^2 / ||target||^2 per batch item, averaged over the batch."""
    value = tf.cast(value, tf.float32)
    target = tf.cast(target, tf.float32)
    axes = list(range(1, len(value.shape)))
    error = tf.reduce_sum(tf.square(value - target), axis=axes)
    scale = tf.reduce_sum(tf.square(target), axis=axes) + _EPSILON
    return tf.reduce_mean(error / scale)


def content_loss(features: tf.Tensor, target_features: tf.Tensor) -> tf.Tensor:
    """Relative squared distance of feature maps (B, H, W, C); a float32 scalar."""
    return relative_squared_error(features, target_features)


def style_layer_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Relative squared distance between the Gram matrix of `features` and a target.

    Args:
        features: (B, H, W, C) activations of the image being optimised.
        target_gram: (1, C, C) or (B, C, C) target Gram matrix.

    Returns:
        float32 scalar.
    """
    return relative_squared_error(gram_matrix(features), target_gram)


def blend_grams(grams: Sequence[tf.Tensor], blend_weights: Sequence[float] | None = None) -> tf.Tensor:
    """Weighted mean of several styles' Gram matrices (weights normalised to sum 1)."""
    if blend_weights is None:
        blend_weights = [1.0] * len(grams)
    total = float(sum(blend_weights))
    return tf.add_n([gram * (weight / total) for gram, weight in zip(grams, blend_weights)])


def tv_loss(images: tf.Tensor) -> tf.Tensor:
    """Total-variation smoothness: mean squared difference between neighbouring pixels.

    Args:
        images: (B, H, W, C) in [0, 1].

    Returns:
        float32 scalar: mean over (B, H-1, W, C) of dy^2 plus mean over (B, H, W-1, C) of dx^2.
    """
    images = tf.cast(images, tf.float32)
    vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
    horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    return tf.reduce_mean(tf.square(vertical)) + tf.reduce_mean(tf.square(horizontal))


def weighted_layer_sum(per_layer: Mapping[str, tf.Tensor], layer_weights: Mapping[str, float]) -> tf.Tensor:
    """Sum of per-layer losses with weights normalised to sum 1."""
    total = float(sum(layer_weights.values()))
    return tf.add_n([per_layer[name] * (weight / total) for name, weight in layer_weights.items()])
