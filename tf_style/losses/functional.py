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
from keras import ops

_EPSILON = 1e-8


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
    shape = ops.shape(features)
    flat = ops.reshape(features, (shape[0], shape[1] * shape[2], shape[3]))
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / ops.cast(shape[1] * shape[2], "float32")


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
    return _sum([gram * (weight / total) for gram, weight in zip(grams, blend_weights)])


def tv_loss(images):
    """Total-variation smoothness: mean squared difference between neighbouring pixels.

    Args:
        images: (B, H, W, C) in [0, 1].

    Returns:
        float32 scalar: mean over (B, H-1, W, C) of dy^2 plus mean over (B, H, W-1, C) of dx^2.
    """
    images = ops.cast(images, "float32")
    vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
    horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(vertical)) + ops.mean(ops.square(horizontal))


def weighted_layer_sum(per_layer: Mapping, layer_weights: Mapping[str, float]):
    """Sum of per-layer losses with weights normalised to sum 1."""
    total = float(sum(layer_weights.values()))
    return _sum([per_layer[name] * (weight / total) for name, weight in layer_weights.items()])


def _sum(tensors: Sequence):
    result = tensors[0]
    for tensor in tensors[1:]:
        result = result + tensor
    return result
