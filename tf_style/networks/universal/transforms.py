"""Feature transforms of universal style transfer: WCT (Li et al., NeurIPS 2017) and AdaIN.

A photo's features take a painting's feature statistics; a decoder trained only
to reconstruct photos then paints the result (`tf_style.networks.universal`).

* **WCT** (whitening and colouring): the photo's centred features are whitened
  (their covariance becomes the identity), then coloured with the painting's
  covariance and shifted by its mean, so the result has the painting's mean and
  covariance exactly.
* **AdaIN** (Huang & Belongie, ICCV 2017): each channel takes the painting's mean
  and standard deviation; the cheaper, weaker cousin (no correlations).

The matrix square roots come from coupled Newton–Schulz iterations, matrix
products only, so the transfer converts to TFLite and runs on its delegates
(an eigendecomposition does not convert). Tests hold them against
``numpy.linalg.eigh``.

Features are float32 ``(B, H, W, C)``; statistics per image: means ``(B, C)``,
covariances and their roots ``(B, C, C)``. Everything is written with
TensorFlow ops and works inside ``tf.function`` and TFLite conversion.
"""

from __future__ import annotations

import tensorflow as tf

# Covariances get this fraction of their mean eigenvalue added to the diagonal before a
# root is taken: ReLU features have channels that are zero over a whole picture, and their
# covariance is singular. Whitening divides by the square roots of its eigenvalues, so the
# floor also keeps near-dead channels from being amplified into noise.
DEFAULT_REGULARIZATION = 1e-2
# Newton-Schulz iterations. With the floor above, VGG16 covariances at relu1_1-relu4_1 of a
# Kodak photo have condition numbers of 1,800-5,700, and their roots agree with an
# eigendecomposition's to 1e-5 (relative, Frobenius) after 15 iterations (0.3-0.7 after 10);
# 20 leave a margin for worse-conditioned pictures.
DEFAULT_ITERATIONS = 20


def feature_mean_and_covariance(features: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-image channel means ``(B, C)`` and covariances ``(B, C, C)`` of features ``(B, H, W, C)``."""
    features = tf.convert_to_tensor(features, tf.float32)
    shape = tf.shape(features)
    flat = tf.reshape(features, (shape[0], shape[1] * shape[2], shape[3]))
    mean = tf.reduce_mean(flat, axis=1)
    centred = flat - mean[:, None, :]
    count = tf.cast(tf.maximum(shape[1] * shape[2] - 1, 1), tf.float32)
    return mean, tf.matmul(centred, centred, transpose_a=True) / count


def regularized(covariance: tf.Tensor, regularization: float = DEFAULT_REGULARIZATION) -> tf.Tensor:
    """``covariance + regularization * mean eigenvalue * I`` (plus 1e-8 for a zero matrix), per image."""
    channels = tf.shape(covariance)[-1]
    identity = tf.eye(channels, dtype=covariance.dtype)[None]
    # The trace as a masked sum: TFLite has no diagonal-part op.
    mean_eigenvalue = tf.reduce_sum(covariance * identity, axis=(-2, -1)) / tf.cast(channels, tf.float32)
    floor = regularization * mean_eigenvalue + 1e-8
    return covariance + floor[:, None, None] * identity


def newton_schulz_roots(matrix: tf.Tensor, num_iterations: int = DEFAULT_ITERATIONS) -> tuple[tf.Tensor, tf.Tensor]:
    """Square root and inverse square root of symmetric positive-definite matrices ``(B, C, C)``.

    The coupled Newton–Schulz iteration (Higham, "Functions of Matrices", 2008):
    with ``A`` scaled by its Frobenius norm so its eigenvalues lie in (0, 1],
    ``Y0 = A``, ``Z0 = I``, ``T = (3I - Z Y) / 2``, ``Y <- Y T``, ``Z <- T Z``;
    ``Y`` converges to ``A^(1/2)`` and ``Z`` to ``A^(-1/2)``. Each step is three
    matrix products. Small eigenvalues converge last, so regularise first
    (`regularized`).

    Returns:
        ``(sqrt, inverse_sqrt)``, each ``(B, C, C)`` float32.
    """
    matrix = tf.convert_to_tensor(matrix, tf.float32)
    norm = tf.sqrt(tf.reduce_sum(tf.square(matrix), axis=(-2, -1), keepdims=True))
    identity = tf.eye(tf.shape(matrix)[-1], batch_shape=tf.shape(matrix)[:1], dtype=tf.float32)
    y, z = matrix / norm, identity
    for _ in range(num_iterations):
        t = 0.5 * (3.0 * identity - tf.matmul(z, y))
        y, z = tf.matmul(y, t), tf.matmul(t, z)
    root_norm = tf.sqrt(norm)
    return y * root_norm, z / root_norm


def style_statistics(
    features: tf.Tensor,
    regularization: float = DEFAULT_REGULARIZATION,
    num_iterations: int = DEFAULT_ITERATIONS,
) -> tuple[tf.Tensor, tf.Tensor]:
    """What WCT needs of a painting: its features' mean ``(B, C)`` and covariance's square root ``(B, C, C)``."""
    mean, covariance = feature_mean_and_covariance(features)
    root, _ = newton_schulz_roots(regularized(covariance, regularization), num_iterations)
    return mean, root


def _mean_and_inverse_root(features, regularization, num_iterations) -> tuple[tf.Tensor, tf.Tensor]:
    """The features' channel means ``(B, C)`` and their regularised covariance's inverse square root."""
    mean, covariance = feature_mean_and_covariance(features)
    _, inverse_root = newton_schulz_roots(regularized(covariance, regularization), num_iterations)
    return mean, inverse_root


def whiten(
    features: tf.Tensor,
    regularization: float = DEFAULT_REGULARIZATION,
    num_iterations: int = DEFAULT_ITERATIONS,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Centres and whitens features ``(B, H, W, C)``: returns them ``(B, H, W, C)`` with their mean ``(B, C)``.

    The result's covariance is the identity (up to the regularisation floor).
    """
    features = tf.convert_to_tensor(features, tf.float32)
    mean, inverse_root = _mean_and_inverse_root(features, regularization, num_iterations)
    centred = features - mean[:, None, None, :]
    return tf.einsum("bhwc,bdc->bhwd", centred, inverse_root), mean


def colour(whitened: tf.Tensor, style_mean: tf.Tensor, style_root: tf.Tensor) -> tf.Tensor:
    """Gives whitened features ``(B, H, W, C)`` a painting's covariance (its root, ``(B, C, C)``) and mean ``(B, C)``.

    A single painting's statistics (batch 1) apply to every image of the batch.
    """
    return tf.einsum("bhwc,bdc->bhwd", whitened, style_root) + style_mean[:, None, None, :]


def apply_affine(features: tf.Tensor, matrix: tf.Tensor, offset: tf.Tensor) -> tf.Tensor:
    """``features @ matrix + offset`` per image: ``(B, H, W, C)``, ``(B, C, C)``, ``(B, C)`` -> ``(B, H, W, C)``."""
    return tf.einsum("bhwc,bcd->bhwd", features, matrix) + offset[:, None, None, :]


def blend_with_identity(matrix: tf.Tensor, offset: tf.Tensor, strength: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The affine map ``strength * (x @ matrix + offset) + (1 - strength) * x``; strength ``(B, 1)``."""
    strength = tf.reshape(tf.cast(strength, tf.float32), (-1, 1, 1))
    identity = tf.eye(tf.shape(matrix)[-1], dtype=tf.float32)[None]
    return strength * matrix + (1.0 - strength) * identity, strength[:, 0] * offset


def wct_affine(
    content_features: tf.Tensor,
    style_mean: tf.Tensor,
    style_root: tf.Tensor,
    regularization: float = DEFAULT_REGULARIZATION,
    num_iterations: int = DEFAULT_ITERATIONS,
) -> tuple[tf.Tensor, tf.Tensor]:
    """WCT as the affine map it is: ``wct(x) = x @ matrix + offset``, ``(B, C, C)`` and ``(B, C)``.

    Whitening and colouring are both linear after centring, so
    ``matrix = photo_root^-1 @ painting_root`` (both symmetric) and
    ``offset = painting_mean - photo_mean @ matrix``. Applied in one product, a
    picture's features are copied once instead of once per step (centre,
    whiten, colour, add the mean), which is what bounds memory at large sizes.
    """
    mean, inverse_root = _mean_and_inverse_root(content_features, regularization, num_iterations)
    batch = tf.shape(mean)[0]
    if style_root.shape[0] == 1:  # One painting for every photo of the batch.
        style_mean = tf.repeat(style_mean, batch, axis=0)
        style_root = tf.repeat(style_root, batch, axis=0)
    # x @ A with A = inverse_root^T @ style_root^T; both roots are symmetric.
    matrix = tf.matmul(inverse_root, style_root)
    offset = style_mean - tf.einsum("bc,bcd->bd", mean, matrix)
    return matrix, offset


def wct(
    content_features: tf.Tensor,
    style_mean: tf.Tensor,
    style_root: tf.Tensor,
    regularization: float = DEFAULT_REGULARIZATION,
    num_iterations: int = DEFAULT_ITERATIONS,
) -> tf.Tensor:
    """The whitening and colouring transform: content features ``(B, H, W, C)`` with the painting's statistics.

    Args:
        content_features: The photo's features.
        style_mean: The painting's channel means, ``(B, C)`` or ``(1, C)``.
        style_root: The square root of the painting's covariance, ``(B, C, C)`` or
            ``(1, C, C)`` (`style_statistics`).
        regularization: The floor added to the photo's covariance (`regularized`).
        num_iterations: Newton–Schulz iterations for the photo's inverse root.

    Returns:
        ``(B, H, W, C)`` features with the painting's mean and covariance (the
        covariance up to the regularisation floors).
    """
    matrix, offset = wct_affine(content_features, style_mean, style_root, regularization, num_iterations)
    return apply_affine(tf.convert_to_tensor(content_features, tf.float32), matrix, offset)


def mean_and_std(features: tf.Tensor, epsilon: float = 1e-5) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-image channel means and standard deviations ``(B, C)`` of features ``(B, H, W, C)`` (AdaIN's statistics)."""
    features = tf.convert_to_tensor(features, tf.float32)
    mean, variance = tf.nn.moments(features, axes=(1, 2))
    return mean, tf.sqrt(variance + epsilon)


def adain_scale_and_shift(
    content_features: tf.Tensor, style_mean: tf.Tensor, style_std: tf.Tensor, epsilon: float = 1e-5
) -> tuple[tf.Tensor, tf.Tensor]:
    """AdaIN as a per-channel affine map: ``adain(x) = x * scale + shift``, each ``(B, C)``."""
    mean, std = mean_and_std(content_features, epsilon)
    scale = style_std / std
    return scale, style_mean - mean * scale


def adain(content_features: tf.Tensor, style_mean: tf.Tensor, style_std: tf.Tensor, epsilon: float = 1e-5) -> tf.Tensor:
    """Adaptive instance normalisation: each channel of ``(B, H, W, C)`` takes the painting's mean and std.

    The painting's statistics are ``(B, C)``, or ``(1, C)`` for every image of the batch.
    """
    content_features = tf.convert_to_tensor(content_features, tf.float32)
    scale, shift = adain_scale_and_shift(content_features, style_mean, style_std, epsilon)
    return content_features * scale[:, None, None, :] + shift[:, None, None, :]
