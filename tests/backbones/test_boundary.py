"""What the loss network sees beyond the border: the picture reflected or wrapped around, cropped off again."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.backbones import boundary
from tf_style.backbones.feature_extractor import build_feature_extractor


@pytest.mark.parametrize("mode", ["reflect", "wrap"])
def test_padding_is_numpys_reflect_and_wrap(mode):
    images = np.random.default_rng(0).uniform(size=(2, 9, 11, 3)).astype(np.float32)
    padded = boundary.pad_images(tf.constant(images), 4, mode).numpy()
    expected = np.pad(images, [(0, 0), (4, 4), (4, 4), (0, 0)], mode=mode)
    np.testing.assert_array_equal(padded, expected)


def test_zeros_pads_nothing():
    images = tf.ones((1, 8, 8, 3))
    assert boundary.pad_images(images, 4, "zeros") is images


def test_an_unknown_boundary_is_refused():
    with pytest.raises(ValueError, match="unknown boundary 'mirror'"):
        boundary.pad_images(tf.ones((1, 8, 8, 3)), 4, "mirror")


@pytest.fixture(scope="module")
def shallow_extractor():
    """A tiny random VGG16 to block3_conv1: its margin is block3's stride, 4 pixels, wider than
    block1_conv1's 3-pixel receptive field, so block1's maps see only real or padded pixels."""
    tf.keras.utils.set_random_seed(0)
    return build_feature_extractor(["block1_conv1", "block3_conv1"], "vgg16_hed", weights=None, width=1 / 16)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "wrap"])
def test_the_margin_is_cropped_off_every_map(shallow_extractor, mode):
    images = tf.random.uniform((1, 40, 56, 3), seed=1)
    features = shallow_extractor(images, boundary=mode)
    assert features["block1_conv1"].shape[1:3] == (40, 56)
    assert features["block3_conv1"].shape[1:3] == (10, 14)


def test_cropping_keeps_the_pictures_part():
    features = {"a": tf.reshape(tf.range(2 * 12 * 16 * 1, dtype=tf.float32), (2, 12, 16, 1))}
    cropped = boundary.crop_features(features, 4, {"a": 2}, "reflect")["a"]
    np.testing.assert_array_equal(cropped.numpy(), features["a"].numpy()[:, 2:10, 2:14])
    assert boundary.crop_features(features, 4, {"a": 2}, "zeros")["a"] is features["a"]


def test_reflect_sees_no_frame_around_a_flat_picture(shallow_extractor):
    flat = tf.fill((1, 40, 56, 3), 0.6)
    for mode, frame in (("zeros", True), ("reflect", False)):
        activations = shallow_extractor(flat, boundary=mode)["block1_conv1"].numpy()[0]
        spread = np.abs(activations - activations[20, 28]).max()
        assert (spread > 1e-3) == frame, (mode, spread)


def test_wrap_makes_features_follow_a_circular_shift(shallow_extractor):
    # With the picture wrapped around, shifting it around shifts its features: no side is special.
    images = tf.random.uniform((1, 40, 56, 3), seed=2)
    shifted = tf.roll(images, shift=8, axis=2)
    for mode, follows in (("wrap", True), ("zeros", False)):
        original = shallow_extractor(images, boundary=mode)["block1_conv1"].numpy()
        moved = shallow_extractor(shifted, boundary=mode)["block1_conv1"].numpy()
        gap = np.abs(np.roll(original, 8, axis=2) - moved).max()
        assert (gap < 1e-4) == follows, (mode, gap)
