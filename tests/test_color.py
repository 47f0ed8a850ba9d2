"""Colour statistics and transfer (tf_style.color)."""

import numpy as np

from tf_style import color


def test_transfer_luminance_keeps_content_chroma():
    rng = np.random.default_rng(0)
    content = rng.uniform(0.3, 0.7, (8, 8, 3)).astype(np.float32)
    stylized = rng.uniform(0.3, 0.7, (8, 8, 3)).astype(np.float32)
    result = color.transfer_luminance(stylized, content)
    to_yiq = color._RGB_TO_YIQ.T
    np.testing.assert_allclose((result @ to_yiq)[..., 0], (stylized @ to_yiq)[..., 0], atol=1e-5)
    np.testing.assert_allclose((result @ to_yiq)[..., 1:], (content @ to_yiq)[..., 1:], atol=1e-5)


def test_match_color_histogram_matches_mean_and_covariance():
    rng = np.random.default_rng(1)
    source = rng.uniform(0.4, 0.6, (32, 32, 3)).astype(np.float32)
    mix = np.array([[1.0, 0.2, 0.0], [0.0, 0.6, 0.1], [0.1, 0.0, 0.3]])
    reference = (0.3 + 0.5 * rng.uniform(0, 1, (40, 40, 3)) @ mix.T * 0.8).astype(np.float32)
    matched = color.match_color_histogram(source, reference)
    flat_m, flat_r = matched.reshape(-1, 3), reference.reshape(-1, 3)
    np.testing.assert_allclose(flat_m.mean(0), flat_r.mean(0), atol=2e-3)
    np.testing.assert_allclose(np.cov(flat_m, rowvar=False), np.cov(flat_r, rowvar=False), atol=2e-3)


def test_color_statistics_of_a_large_image_come_from_a_grid_sample():
    rng = np.random.default_rng(2)
    # 1200 x 1000 = 1.2 megapixels: sampled every 3rd row and column (133,600 pixels).
    rows = np.linspace(0.0, 1.0, 1200)[:, None, None]
    columns = np.linspace(0.0, 1.0, 1000)[None, :, None]
    image = np.clip(
        np.concatenate([rows + 0 * columns, 0.5 * columns + 0 * rows, 0.3 * rows * columns], axis=-1)
        + rng.normal(0.0, 0.05, (1200, 1000, 3)),
        0.0,
        1.0,
    ).astype(np.float32)
    assert color._grid_sample(image).shape == (400, 334, 3)
    mean, covariance = color.color_statistics([image])
    flat = image.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(0), atol=2e-3)
    np.testing.assert_allclose(covariance, np.cov(flat, rowvar=False, bias=True), atol=2e-3)
    np.testing.assert_array_equal(color._grid_sample(image[:512, :512]), image[:512, :512])  # Used whole.


def _coarse_correlation(first, second, cells=8):
    def blocks(image):
        luminance = image @ color.LUMA
        height, width = luminance.shape
        return (
            luminance[: height // cells * cells, : width // cells * cells]
            .reshape(cells, height // cells, cells, width // cells)
            .mean(axis=(1, 3))
            .ravel()
        )

    return float(np.corrcoef(blocks(first), blocks(second))[0, 1])


def test_restore_luminance_layout_brings_back_the_photos_light_and_dark_masses():
    _, x = np.mgrid[0:64, 0:96].astype(np.float32)
    photo = np.repeat((0.2 + 0.6 * (x / 96))[..., None], 3, axis=-1)  # Dark left, light right.
    rng = np.random.default_rng(0)
    strokes = 0.1 * np.sin(x / 1.5)[..., None] * np.ones(3)
    picture = np.clip(np.stack([0.8 - 0.5 * x / 96, 0.5 - 0.3 * x / 96, 0.3 + 0 * x], -1) + strokes, 0, 1)
    picture = (picture + rng.normal(0, 0.01, picture.shape)).astype(np.float32)
    assert _coarse_correlation(picture, photo) < -0.9  # Turned over, as WCT can.
    restored = color.restore_luminance_layout(picture, photo)
    assert _coarse_correlation(restored, photo) > 0.9
    # The strokes stay: a row's second differences (fine detail, not the slow shift) are unchanged.
    high_pass = lambda image: image[32, 39:55, 1] - 2 * image[32, 40:56, 1] + image[32, 41:57, 1]  # noqa: E731
    np.testing.assert_allclose(high_pass(restored), high_pass(picture), atol=0.02)
    assert abs((restored @ color.LUMA).mean() - (picture @ color.LUMA).mean()) < 0.03
    np.testing.assert_array_equal(color.restore_luminance_layout(picture, photo, strength=0.0), picture)
