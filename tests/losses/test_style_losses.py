"""The style losses beside the Gram matrix, each against its definition on tiny inputs."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.errors import ConfigError
from tf_style.losses import functional
from tf_style.losses.terms import MRFStyleLoss, SlicedWassersteinStyleLoss
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
