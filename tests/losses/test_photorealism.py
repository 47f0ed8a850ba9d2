"""The matting-Laplacian term of the photorealistic mode, against its definition."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.losses import functional
from tf_style.losses.terms import MattingLaplacianLoss


def _sparse_matting_laplacian(guide, epsilon, radius=1):
    """Levin et al.'s matting Laplacian of a (H, W, 3) guide, entry by entry, as a tf.sparse matrix:

    L_ij = sum over windows k holding i and j of
           delta_ij - (1 + (I_i - mu_k)^T (S_k + epsilon / n I)^-1 (I_j - mu_k)) / n.
    """
    height, width, _ = guide.shape
    size = 2 * radius + 1
    count = size * size
    entries = {}
    for y in range(radius, height - radius):
        for x in range(radius, width - radius):
            steps = range(-radius, radius + 1)
            indices = [(y + dy) * width + (x + dx) for dy in steps for dx in steps]
            window = guide.reshape(-1, 3)[indices]
            mean = window.mean(axis=0)
            covariance = (window - mean).T @ (window - mean) / count
            inverse = np.linalg.inv(covariance + epsilon / count * np.eye(3))
            offsets = window - mean
            block = np.eye(count) - (1.0 + offsets @ inverse @ offsets.T) / count
            for a, i in enumerate(indices):
                for b, j in enumerate(indices):
                    entries[(i, j)] = entries.get((i, j), 0.0) + block[a, b]
    keys = sorted(entries)
    return tf.sparse.SparseTensor(
        indices=np.array(keys, np.int64),
        values=np.array([entries[key] for key in keys], np.float64),
        dense_shape=(height * width, height * width),
    )


@pytest.mark.parametrize("radius, epsilon", [(1, 1e-3), (1, 1e-5), (2, 1e-4)])
def test_loss_is_the_quadratic_form_of_the_sparse_matting_laplacian(radius, epsilon):
    rng = np.random.default_rng(radius)
    guide = rng.uniform(size=(7, 9, 3))
    picture = rng.uniform(size=(7, 9, 3))
    laplacian = _sparse_matting_laplacian(guide, epsilon, radius)
    columns = tf.constant(picture.reshape(-1, 3))
    quadratic_form = tf.reduce_sum(columns * tf.sparse.sparse_dense_matmul(laplacian, columns))
    windows = (7 - 2 * radius) * (9 - 2 * radius) * 3
    offsets, inverses = functional.local_affine_statistics(guide, epsilon, radius)
    picture_tensor = tf.constant(picture[None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(picture_tensor)
        loss = functional.matting_laplacian_loss(picture_tensor, offsets, inverses, epsilon, radius)
    assert float(loss) == pytest.approx(float(quadratic_form) / windows, rel=1e-4)
    # Its gradient is 2 L V / (windows).
    expected_gradient = 2.0 * tf.sparse.sparse_dense_matmul(laplacian, columns).numpy() / windows
    np.testing.assert_allclose(
        tape.gradient(loss, picture_tensor).numpy().reshape(-1, 3), expected_gradient, rtol=1e-3, atol=1e-6
    )


def test_a_recoloured_photo_costs_nothing_and_a_moved_one_does():
    rng = np.random.default_rng(5)
    photo = np.clip(rng.normal(0.5, 0.15, size=(24, 32, 3)), 0, 1).astype(np.float32)
    offsets, inverses = functional.local_affine_statistics(photo, 1e-5)
    recoloured = photo @ np.array([[0.6, 0.2, 0.0], [0.1, 0.5, 0.2], [0.0, 0.1, 0.7]], np.float32) + 0.1
    moved = np.roll(photo, 2, axis=1)
    loss = lambda picture: float(functional.matting_laplacian_loss(picture[None], offsets, inverses, 1e-5))  # noqa: E731
    # Only the coefficients' penalty is left: epsilon ||a||^2 per window and channel, ||a||^2 < 1.
    assert loss(recoloured) < 1e-5
    assert loss(moved) > 1e3 * loss(recoloured)


def test_the_term_reads_the_photo_itself_and_reports_under_its_key():
    rng = np.random.default_rng(2)
    photo = rng.uniform(size=(10, 12, 3)).astype(np.float32)
    term = MattingLaplacianLoss(weight=7.0, epsilon=1e-4)
    assert (term.key, term.reads, term.layer_weights) == ("photorealism_loss", "photo_pixels", {})
    target = term.target(photo)
    assert target[0].shape == (1, 8, 10, 9, 3) and target[1].shape == (1, 8, 10, 3, 3)
    value, details = term(photo[None], {}, target)
    assert details == {}
    # The photo is itself with a = the unit vector of its channel: only epsilon ||a||^2 = 1e-4 is left.
    assert float(value) == pytest.approx(1e-4, rel=0.01)
