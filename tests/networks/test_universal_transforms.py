"""WCT and AdaIN maths: the iterative roots against an eigendecomposition, whitening, colouring, blending."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.networks.universal import transforms


def _features(seed, height=24, width=20, channels=8, scale=None):
    """Correlated features (1, H, W, C): random channels mixed by a random matrix."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(channels, channels)) * (scale if scale is not None else 1.0)
    raw = rng.normal(size=(height * width, channels)) @ mixing + rng.normal(size=channels) * 3
    return tf.constant(raw.reshape(1, height, width, channels), tf.float32)


def _covariance(features):
    flat = features.numpy().reshape(-1, features.shape[-1]).astype(np.float64)
    return np.cov(flat, rowvar=False), flat.mean(axis=0)


def _eigen_roots(matrix):
    values, vectors = np.linalg.eigh(matrix.astype(np.float64))
    return (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T


@pytest.mark.parametrize("condition", [10.0, 1e3, 1e5])
def test_newton_schulz_roots_match_the_eigendecomposition(condition):
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(32, 32)))
    eigenvalues = np.geomspace(1.0, 1.0 / condition, 32) * 7.0
    matrix = (basis * eigenvalues) @ basis.T
    root, inverse_root = transforms.newton_schulz_roots(tf.constant(matrix[None], tf.float32), num_iterations=30)
    expected_root, expected_inverse = _eigen_roots(matrix)
    assert np.linalg.norm(root[0] - expected_root) / np.linalg.norm(expected_root) < 1e-3
    assert np.linalg.norm(inverse_root[0] - expected_inverse) / np.linalg.norm(expected_inverse) < 1e-3
    np.testing.assert_allclose(root[0].numpy() @ root[0].numpy(), matrix, rtol=0, atol=1e-3 * np.abs(matrix).max())


def test_too_few_iterations_leave_the_small_eigenvalues_unconverged():
    """The test above can fail: two iterations on a badly conditioned matrix are far off."""
    matrix = np.diag(np.geomspace(1.0, 1e-4, 16))
    _, inverse_root = transforms.newton_schulz_roots(tf.constant(matrix[None], tf.float32), num_iterations=2)
    _, expected = _eigen_roots(matrix)
    assert np.linalg.norm(inverse_root[0] - expected) / np.linalg.norm(expected) > 0.5


def test_mean_and_covariance_match_numpy():
    features = _features(1)
    mean, covariance = transforms.feature_mean_and_covariance(features)
    expected_covariance, expected_mean = _covariance(features)
    np.testing.assert_allclose(mean[0], expected_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(covariance[0], expected_covariance, rtol=1e-3, atol=1e-3)


def test_whitened_features_have_zero_mean_and_identity_covariance():
    features = _features(2, height=40, width=40)
    whitened, mean = transforms.whiten(features, regularization=1e-6)
    covariance, whitened_mean = _covariance(whitened)
    np.testing.assert_allclose(whitened_mean, 0.0, atol=1e-3)
    np.testing.assert_allclose(covariance, np.eye(8), atol=2e-3)
    np.testing.assert_allclose(mean[0], _covariance(features)[1], rtol=1e-4, atol=1e-4)


def test_wct_gives_the_content_the_paintings_mean_and_covariance():
    content, painting = _features(3, height=40, width=40), _features(4, height=30, width=50)
    style_mean, style_root = transforms.style_statistics(painting, regularization=1e-6)
    result = transforms.wct(content, style_mean, style_root, regularization=1e-6)
    result_covariance, result_mean = _covariance(result)
    painting_covariance, painting_mean = _covariance(painting)
    np.testing.assert_allclose(result_mean, painting_mean, rtol=1e-3, atol=1e-3)
    assert np.linalg.norm(result_covariance - painting_covariance) / np.linalg.norm(painting_covariance) < 1e-3
    # And not the content's: the test would notice a transform that did nothing.
    content_covariance, _ = _covariance(content)
    assert np.linalg.norm(content_covariance - painting_covariance) / np.linalg.norm(painting_covariance) > 0.3


def test_wct_applies_one_paintings_statistics_to_every_photo_of_a_batch():
    content = tf.concat([_features(5), _features(6)], axis=0)
    style_mean, style_root = transforms.style_statistics(_features(7))
    together = transforms.wct(content, style_mean, style_root)
    alone = transforms.wct(content[1:], style_mean, style_root)
    np.testing.assert_allclose(together[1:], alone, atol=1e-4)


def test_the_regularisation_floor_keeps_a_dead_channel_finite():
    features = _features(8).numpy()
    features[..., 3] = 0.0  # A ReLU channel that never fires.
    style_mean, style_root = transforms.style_statistics(_features(9))
    result = transforms.wct(tf.constant(features), style_mean, style_root)
    assert np.all(np.isfinite(result.numpy()))
    assert np.abs(result.numpy()).max() < 1e3


def test_adain_gives_each_channel_the_paintings_mean_and_std():
    content, painting = _features(10), _features(11)
    style_mean, style_std = transforms.mean_and_std(painting)
    result = transforms.adain(content, style_mean, style_std)
    flat = result.numpy().reshape(-1, 8)
    np.testing.assert_allclose(flat.mean(axis=0), style_mean[0], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(flat.std(axis=0), style_std[0], rtol=1e-3, atol=1e-3)


def test_wct_is_linear_in_the_paintings_statistics_so_blending_them_blends_the_results():
    content = _features(12)
    first = transforms.style_statistics(_features(13))
    second = transforms.style_statistics(_features(14))
    blended = [0.3 * a + 0.7 * b for a, b in zip(first, second)]
    expected = 0.3 * transforms.wct(content, *first) + 0.7 * transforms.wct(content, *second)
    np.testing.assert_allclose(transforms.wct(content, *blended), expected, atol=1e-3)


def test_pad_for_transfer_mirrors_a_margin_aligns_and_gives_the_photo_back():
    from tf_style.networks.universal.contract import pad_for_transfer

    photo = np.random.default_rng(0).random((37, 50, 3)).astype(np.float32)
    padded, rows, columns = pad_for_transfer(photo, alignment=4, margin=16)
    assert padded.shape[0] % 4 == 0 and padded.shape[1] % 4 == 0
    assert padded.shape[0] >= 37 + 32 and padded.shape[1] >= 50 + 32
    np.testing.assert_array_equal(padded[rows, columns], photo)
    np.testing.assert_array_equal(padded[15, columns], photo[0])  # Mirrored: the edge row repeats outward.
    tiny, rows, columns = pad_for_transfer(photo[:1, :3], alignment=8, margin=0)
    assert tiny.shape[:2] == (16, 16) and tiny[rows, columns].shape == (1, 3, 3)


def test_wct_as_one_affine_map_equals_whitening_then_colouring():
    content = tf.constant(_features(21))
    style_mean, style_root = transforms.style_statistics(_features(22))
    whitened, _ = transforms.whiten(content)
    stepwise = transforms.colour(whitened, style_mean, style_root)
    np.testing.assert_allclose(transforms.wct(content, style_mean, style_root), stepwise, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("transform", ["wct", "adain"])
def test_the_style_strength_blends_transformed_and_original_features(transform):
    from tf_style.networks.universal.layers import FeatureTransform

    content = tf.constant(_features(23))
    painting = _features(24)
    if transform == "wct":
        mean, spread = transforms.style_statistics(painting)
        full = transforms.wct(content, mean, spread)
    else:
        mean, spread = transforms.mean_and_std(painting)
        full = transforms.adain(content, mean, spread)
    layer = FeatureTransform(transform)
    strength = tf.constant([[0.3]])
    blended = layer([content, mean, spread, strength])
    np.testing.assert_allclose(blended, 0.3 * full + 0.7 * content, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(layer([content, mean, spread, tf.zeros((1, 1))]), content, rtol=1e-5, atol=1e-4)
