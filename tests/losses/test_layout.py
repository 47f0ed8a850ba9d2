"""The luminance-layout term: the picture's coarse light and dark masses against the photo's."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.errors import ConfigError
from tf_style.evaluation import measures
from tf_style.losses import functional
from tf_style.losses.terms import LuminanceLayoutLoss
from tf_style.optimization.config import StylizeConfig
from tf_style.training.config import TrainConfig


def _scene(height=48, width=64, seed=0):
    """A light left half, a dark right half, a mid-grey square, and noise: (H, W, 3) in [0, 1]."""
    scene = np.full((height, width, 3), 0.85, np.float32)
    scene[:, width // 2 :] = 0.15
    scene[height // 4 : height // 2, width // 8 : width // 4] = 0.5
    noise = np.random.default_rng(seed).normal(0.0, 0.03, scene.shape)
    return np.clip(scene + noise, 0.0, 1.0).astype(np.float32)


def test_coarse_luminance_is_a_standardised_grid_the_same_at_any_size():
    small = functional.coarse_luminance(_scene()[None], cells=6).numpy()
    assert small.shape == (1, 6, 6, 1)
    assert small.mean() == pytest.approx(0.0, abs=1e-5) and small.std() == pytest.approx(1.0, abs=1e-2)
    assert small[0, :, 0].min() > 0.5 and small[0, :, -1].max() < -0.5  # Light left, dark right.
    large = functional.coarse_luminance(_scene(96, 128)[None], cells=6).numpy()
    np.testing.assert_allclose(large, small, atol=0.15)
    flat = functional.coarse_luminance(np.full((1, 32, 32, 3), 0.4, np.float32), cells=6).numpy()
    np.testing.assert_allclose(flat, 0.0, atol=1e-3)  # No masses to keep: no grid blown up from rounding.


def test_layout_loss_ignores_overall_brightness_and_counts_masses_turned_over():
    photo = _scene()
    term = LuminanceLayoutLoss(2.0, cells=6)
    target = term.target(photo)
    assert target.shape == (1, 6, 6, 1) and term.layer_weights == {} and term.reads == "photo_pixels"
    np.testing.assert_allclose(term.target(np.stack([photo, photo])), np.concatenate([target, target]), atol=1e-6)

    def loss(picture):
        value, details = term(tf.constant(picture[None]), {}, target)
        assert details == {}
        return float(value)

    assert loss(photo) == pytest.approx(0.0, abs=1e-4)
    assert loss(0.2 + 0.5 * photo) == pytest.approx(0.0, abs=1e-3)  # Darker and flatter, same masses.
    assert loss(1.0 - photo) == pytest.approx(4.0, abs=1e-2)  # Light and dark turned over.
    # In between, 2 (1 - correlation) of the two grids.
    half = photo.copy()
    half[photo.shape[0] // 2 :, : photo.shape[1] // 2] = 0.15  # A quarter of the light half painted dark.
    grids = [functional.coarse_luminance(image[None], 6).numpy().ravel() for image in (photo, half)]
    assert 0.5 < loss(half) == pytest.approx(2 * (1 - np.corrcoef(*grids)[0, 1]), abs=1e-2)


def test_gradient_steps_bring_back_a_wall_turned_dark():
    photo = _scene()
    term = LuminanceLayoutLoss(1.0, cells=6)
    target = term.target(photo)
    picture = photo.copy()
    picture[:, : photo.shape[1] // 2] = 0.1  # The light wall came out navy-dark.
    variable = tf.Variable(picture[None])
    before = measures.layout_correlation(photo, picture)
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss, _ = term(variable, {}, target)
        variable.assign(tf.clip_by_value(variable - 200.0 * tape.gradient(loss, variable), 0.0, 1.0))
    after = measures.layout_correlation(photo, variable.numpy()[0])
    assert before < 0.5 and after > 0.9, (before, after)


def test_layout_weight_adds_the_layout_term_to_both_modes():
    assert "layout_loss" not in [term.key for term in StylizeConfig().objective().terms]
    for config in (StylizeConfig(layout_weight=3.0), TrainConfig(layout_weight=3.0, color_weight=1.0)):
        term = config.objective().term("layout_loss")
        assert isinstance(term, LuminanceLayoutLoss) and term.weight == 3.0
    with pytest.raises(ConfigError, match="layout_weight must be >= 0"):
        StylizeConfig(layout_weight=-1.0)
    with pytest.raises(ConfigError, match="layout_weight needs a photo; a texture"):
        StylizeConfig(layout_weight=1.0, output_size=(64, 64))
