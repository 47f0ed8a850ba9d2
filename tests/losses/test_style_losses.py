"""The style losses beside the Gram matrix, each against its definition on tiny inputs."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.errors import ConfigError
from tf_style.losses import functional
from tf_style.losses.terms import ColorDistributionLoss, MRFStyleLoss, SlicedWassersteinStyleLoss
from tf_style.optimization.config import StylizeConfig


def _maps(values, height=2, width=2):
    return tf.constant(np.asarray(values, np.float32).reshape(1, height, width, -1))


def test_histogram_loss_compares_sorted_values_relative_to_the_target_spread():
    target = functional.projected_quantiles([_maps([3.0, 0.0, 2.0, 1.0])], np.eye(1), count=4)
    np.testing.assert_allclose(target[:, 0], [0.0, 1.0, 2.0, 3.0])
    # Sorted picture 1, 2, 3, 4 against 0, 1, 2, 3: squared error 1; the target's variance is 1.25.
    loss = functional.sliced_wasserstein_loss(_maps([3.0, 1.0, 2.0, 4.0]), target, np.eye(1))
    assert float(loss) == pytest.approx(1.0 / 1.25)
    same = functional.sliced_wasserstein_loss(_maps([2.0, 3.0, 0.0, 1.0]), target, np.eye(1))
    assert float(same) == pytest.approx(0.0, abs=1e-6)  # Another arrangement of the same values.


def test_quantiles_resample_to_the_pictures_number_of_positions():
    quantiles = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)  # At probabilities 1/8, 3/8, 5/8, 7/8.
    np.testing.assert_allclose(functional.resample_quantiles(quantiles, 2)[:, 0], [0.5, 2.5])


def test_several_paintings_make_a_weighted_mixture():
    zeros, tens = _maps([0.0] * 4), _maps([10.0] * 4)
    quantiles = functional.projected_quantiles([zeros, tens], np.eye(1), blend_weights=[3.0, 1.0], count=8)[:, 0]
    np.testing.assert_allclose(quantiles[:5], 0.0)  # The lowest three quarters, and the step begins.
    np.testing.assert_allclose(quantiles[-1], 10.0)
    assert np.all(np.diff(quantiles) >= 0)


def test_sliced_wasserstein_directions_are_unit_vectors_and_channels_mean_histograms():
    sliced = SlicedWassersteinStyleLoss({"a": 1.0}, directions="random", seed=3)
    directions = sliced._projections(16, 0)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(directions, sliced._projections(16, 0))  # Fixed: L-BFGS needs it.
    histogram = SlicedWassersteinStyleLoss({"a": 1.0}, directions="channels")
    np.testing.assert_array_equal(histogram._projections(4, 0), np.eye(4))
    assert (sliced.key, histogram.key) == ("sliced_wasserstein_loss", "histogram_loss")


def test_a_gradient_step_on_the_sliced_wasserstein_loss_brings_the_distribution_closer():
    rng = np.random.default_rng(0)
    painting = {"a": tf.constant(rng.normal(2.0, 0.5, (1, 8, 8, 4)).astype(np.float32))}
    term = SlicedWassersteinStyleLoss({"a": 1.0}, seed=1)
    target = term.target([painting])
    features = tf.Variable(rng.normal(0.0, 1.0, (1, 8, 8, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        before, details = term(None, {"a": features}, target)
    features.assign_sub(0.5 * tape.gradient(before, features) / float(tf.reduce_max(tf.abs(features))))
    after, _ = term(None, {"a": features}, target)
    assert float(after) < float(before) and "sliced_wasserstein_loss/a" in details


def test_mrf_loss_is_the_distance_to_the_most_similar_patch():
    rng = np.random.default_rng(0)
    painting = rng.uniform(0.1, 1.0, (1, 4, 5, 2)).astype(np.float32)
    picture = rng.uniform(0.1, 1.0, (1, 4, 5, 2)).astype(np.float32)
    term = MRFStyleLoss({"a": 1.0})
    target = term.target([{"a": tf.constant(painting)}])["a"]
    assert target.shape == (2 * 3, 3 * 3 * 2)

    def patches(maps):
        return np.array([maps[0, y : y + 3, x : x + 3].reshape(-1) for y in range(2) for x in range(3)])

    ours, theirs = patches(picture), patches(painting)
    unit = lambda rows: rows / np.linalg.norm(rows, axis=1, keepdims=True)  # noqa: E731
    nearest = theirs[np.argmax(unit(ours) @ unit(theirs).T, axis=1)]
    expected = np.mean(np.sum((ours - nearest) ** 2, axis=1)) / np.mean(np.sum(theirs**2, axis=1))
    value, _ = term(None, {"a": tf.constant(picture)}, {"a": target})
    assert float(value) == pytest.approx(expected, rel=1e-5)
    itself, _ = term(None, {"a": tf.constant(painting)}, {"a": target})
    assert float(itself) == pytest.approx(0.0, abs=1e-6)


def test_mrf_keeps_at_most_max_patches_spread_over_the_painting():
    maps = {"a": tf.random.uniform((1, 12, 12, 2), seed=0)}
    target = MRFStyleLoss({"a": 1.0}, max_patches=7).target([maps, maps])["a"]
    assert target.shape == (7, 18)


def test_style_loss_mix_shares_the_style_weight():
    config = StylizeConfig(
        backbone="vgg16_hed", style_weight=6.0, style_loss=("gram", "mrf"), style_loss_weights=(2, 1)
    )
    objective = config.objective()
    assert objective.term("style_loss").weight == pytest.approx(4.0)
    assert objective.term("mrf_loss").weight == pytest.approx(2.0)
    assert list(objective.term("mrf_loss").layer_weights) == ["block3_conv1", "block4_conv1"]
    histogram = StylizeConfig(style_loss=("histogram",)).objective().term("histogram_loss")
    assert histogram.weight == pytest.approx(StylizeConfig().style_weight)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"style_loss": ("fancy",)}, "style_loss must be one of"),
        ({"style_loss": ()}, "style_loss must name at least one loss"),
        ({"style_loss": ("gram", "gram")}, "names a loss twice"),
        ({"style_loss": ("gram", "mrf"), "style_loss_weights": (1.0,)}, "style_loss_weights has 1 values for 2"),
        ({"style_loss": ("gram",), "style_loss_weights": (0.0,)}, "style_loss_weights must be > 0"),
    ],
)
def test_bad_style_loss_settings(changes, message):
    with pytest.raises(ConfigError, match=message):
        StylizeConfig(**changes)


def test_the_color_term_compares_the_pictures_pixels_with_the_paintings_along_fixed_directions():
    rng = np.random.default_rng(0)
    painting = rng.uniform(0.0, 1.0, (6, 8, 3)).astype(np.float32)
    term = ColorDistributionLoss(2.0, num_directions=5, seed=1)
    quantiles, directions = term.target([painting])
    assert quantiles.shape == (4096, 5) and directions.shape == (3, 5) and term.layer_weights == {}
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(directions.sum(axis=0), 0.0, atol=1e-6)  # Orthogonal to grey: chroma only.
    np.testing.assert_array_equal(directions, ColorDistributionLoss(num_directions=5, seed=1).directions)
    # Brightness is not compared: the painting made lighter by the same amount everywhere is no loss.
    darker = term.target([painting * 0.5])
    lighter = (painting * 0.5 + 0.3)[None]
    assert float(term(tf.constant(lighter), {}, darker)[0]) == pytest.approx(0.0, abs=1e-4)
    # The painting's own pixels, in another arrangement: the same distribution, no loss.
    shuffled = rng.permutation(painting.reshape(-1, 3)).reshape(1, 6, 8, 3)
    same, details = term(tf.constant(shuffled), {}, (quantiles, directions))
    assert float(same) == pytest.approx(0.0, abs=1e-4) and details == {}
    # The definition: sorted projections against the target's, relative to its spread.
    picture = rng.uniform(0.0, 0.5, (1, 6, 8, 3)).astype(np.float32)
    expected = functional.sliced_wasserstein_loss(tf.constant(picture), quantiles, directions)
    assert float(term(tf.constant(picture), {}, (quantiles, directions))[0]) == pytest.approx(float(expected))
    assert float(expected) > 0.1


def test_the_color_term_pulls_a_pink_picture_toward_a_blue_and_yellow_painting():
    painting = np.zeros((8, 8, 3), np.float32)
    painting[:, :4] = (0.1, 0.2, 0.7)  # Blue.
    painting[:, 4:] = (0.95, 0.85, 0.2)  # Yellow.
    term = ColorDistributionLoss(num_directions=16)
    target = term.target([painting])
    noise = np.random.default_rng(0).normal(0.0, 0.05, (1, 8, 8, 3))
    pink = tf.Variable(np.clip(np.add((0.6, 0.45, 0.6), noise), 0.0, 1.0).astype(np.float32))  # Neither colour.
    for _ in range(200):
        with tf.GradientTape() as tape:
            loss, _ = term(pink, {}, target)
        pink.assign(tf.clip_by_value(pink - tape.gradient(loss, pink), 0.0, 1.0))

    def chroma(colors):  # What is left of a colour without its grey (brightness) part.
        colors = np.asarray(colors, np.float32).reshape(-1, 3)
        return colors - colors.mean(axis=1, keepdims=True)

    pixels = chroma(pink.numpy())
    blue = np.linalg.norm(pixels - chroma(painting[0, 0]), axis=1) < 0.1
    yellow = np.linalg.norm(pixels - chroma(painting[0, -1]), axis=1) < 0.1
    assert blue.mean() > 0.3 and yellow.mean() > 0.3, (blue.mean(), yellow.mean())


def test_color_weight_adds_the_color_term_to_both_modes():
    from tf_style.training.config import TrainConfig

    assert "color_loss" not in [term.key for term in StylizeConfig().objective().terms]
    for config in (StylizeConfig(color_weight=3.0), TrainConfig(color_weight=3.0)):
        term = config.objective().term("color_loss")
        assert isinstance(term, ColorDistributionLoss) and term.weight == 3.0
    with pytest.raises(ConfigError, match="color_weight must be >= 0"):
        StylizeConfig(color_weight=-1.0)
