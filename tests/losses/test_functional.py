"""Analytic tests of the loss maths."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.losses import functional as losses


def test_gram_matrix_matches_definition():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 3, 5, 4)).astype(np.float32)
    flat = features.reshape(2, 15, 4)
    expected = np.einsum("bni,bnj->bij", flat, flat) / 15
    np.testing.assert_allclose(losses.gram_matrix(features).numpy(), expected, rtol=1e-5)


def test_gram_matrix_gradient_is_f_times_the_symmetrised_upstream():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(2, 5, 6, 4)).astype(np.float32)
    weights = rng.normal(size=(2, 4, 4)).astype(np.float32)  # Not symmetric.
    features_tensor = tf.constant(features)
    with tf.GradientTape() as tape:
        tape.watch(features_tensor)
        loss = tf.reduce_sum(weights * losses.gram_matrix(features_tensor))
    flat = features.reshape(2, 30, 4)
    expected = np.einsum("bni,bij->bnj", flat, weights + weights.transpose(0, 2, 1)) / 30
    np.testing.assert_allclose(
        tape.gradient(loss, features_tensor).numpy(), expected.reshape(features.shape), rtol=1e-4, atol=1e-6
    )


def test_gram_matrix_is_independent_of_image_size():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(1, 4, 4, 3)).astype(np.float32)
    tiled = np.tile(features, (1, 3, 2, 1))  # Same statistics, six times the positions.
    np.testing.assert_allclose(losses.gram_matrix(tiled).numpy(), losses.gram_matrix(features).numpy(), rtol=1e-5)


def test_style_layer_loss_is_zero_at_target_and_relative():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(1, 6, 6, 4)).astype(np.float32)
    target = losses.gram_matrix(features)
    assert float(losses.style_layer_loss(features, target)) == pytest.approx(0.0, abs=1e-7)
    # Scaling the features by 2 scales the Gram by 4: relative error (4 - 1)^2 = 9.
    assert float(losses.style_layer_loss(2 * features, target)) == pytest.approx(9.0, rel=1e-5)
    # Relative: the same for features 1000x larger (activations differ widely between layers).
    assert float(losses.style_layer_loss(2000 * features, losses.gram_matrix(1000 * features))) == pytest.approx(
        9.0, rel=1e-4
    )


def test_content_loss_definition():
    target = np.ones((1, 2, 2, 3), np.float32)
    value = target * 1.5
    # ||0.5||^2 / ||1||^2 over 12 elements = 0.25.
    assert float(losses.content_loss(value, target)) == pytest.approx(0.25, rel=1e-6)


def test_tv_loss_analytic():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[:, :, 2:, :] = 1.0  # One vertical edge of height 1.
    # Horizontal differences: 4 rows x 3 pairs, one of the three is 1 -> mean 1/3; vertical: 0.
    assert float(losses.tv_loss(image)) == pytest.approx(1 / 3, rel=1e-6)
    assert float(losses.tv_loss(np.full((1, 5, 5, 3), 0.3, np.float32))) == 0.0


def test_blended_grams_give_the_gradient_of_the_weighted_sum_of_style_losses():
    rng = np.random.default_rng(3)
    features = tf.Variable(rng.normal(size=(1, 5, 5, 4)).astype(np.float32))
    targets = [losses.gram_matrix(rng.normal(size=(1, 7, 7, 4)).astype(np.float32)) for _ in range(3)]
    weights = [0.5, 0.3, 0.2]
    blended = losses.blend_grams(targets, weights)
    with tf.GradientTape(persistent=True) as tape:
        gram = losses.gram_matrix(features)
        one_target = tf.reduce_sum(tf.square(gram - blended))
        weighted_sum = tf.add_n([w * tf.reduce_sum(tf.square(gram - t)) for w, t in zip(weights, targets)])
    np.testing.assert_allclose(
        tape.gradient(one_target, features).numpy(), tape.gradient(weighted_sum, features).numpy(), rtol=1e-4, atol=1e-6
    )


def test_blend_weights_are_normalised():
    a, b = tf.ones((1, 2, 2)), 3 * tf.ones((1, 2, 2))
    np.testing.assert_allclose(losses.blend_grams([a, b], [2.0, 2.0]).numpy(), 2 * np.ones((1, 2, 2)))
    np.testing.assert_allclose(losses.blend_grams([a, b]).numpy(), 2 * np.ones((1, 2, 2)))


def test_weighted_layer_sum_normalises_weights():
    per_layer = {"a": tf.constant(1.0), "b": tf.constant(3.0)}
    assert float(losses.weighted_layer_sum(per_layer, {"a": 1.0, "b": 1.0})) == pytest.approx(2.0)
    assert float(losses.weighted_layer_sum(per_layer, {"a": 3.0, "b": 1.0})) == pytest.approx(1.5)


def test_tv_loss_wrapped_counts_opposite_sides_as_neighbours():
    from tf_style.losses.functional import tv_loss

    # Columns 0, 1, 0, 1: three horizontal steps of 1 inside, and 1 -> 0 across the seam.
    image = np.tile(np.array([0.0, 1.0, 0.0, 1.0], np.float32)[None, None, :, None], (1, 2, 1, 1))
    assert float(tv_loss(image)) == pytest.approx(1.0)  # Mean of 3 squared steps of 1.
    assert float(tv_loss(image, wrap=True)) == pytest.approx(1.0)  # 4 of 4 steps, rows equal.
    ramp = np.tile(np.array([0.0, 0.25, 0.5, 0.75], np.float32)[None, None, :, None], (1, 2, 1, 1))
    assert float(tv_loss(ramp)) == pytest.approx(0.0625)
    assert float(tv_loss(ramp, wrap=True)) == pytest.approx((3 * 0.0625 + 0.5625) / 4)
