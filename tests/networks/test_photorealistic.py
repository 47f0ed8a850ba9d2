"""Photorealistic universal transfer: unpooling decoders, the guided filter, and the model that joins them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.networks.universal.decoder import build_decoder, pooling_sources
from tf_style.networks.universal.layers import MaxUnpooling2x
from tf_style.networks.universal.model import UniversalStyleTransfer
from tf_style.networks.universal.smoothing import box_mean, guided_filter

from conftest import make_painting, make_photo, tiny_decoder


def tiny_builder(layers, *args, **kwargs):
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)


def test_unpooling_puts_each_value_where_its_windows_maximum_was():
    activations = np.array([[1, 5, 0, 0], [2, 3, 0, 7], [9, 0, 4, 4], [0, 1, 0, 2]], np.float32)[None, :, :, None]
    values = np.array([[10, 20], [30, 40]], np.float32)[None, :, :, None]
    unpooled = MaxUnpooling2x()([values, activations]).numpy()[0, :, :, 0]
    expected = np.array([[0, 10, 0, 0], [0, 0, 0, 20], [30, 0, 40, 40], [0, 0, 0, 0]], np.float32)
    np.testing.assert_array_equal(unpooled, expected)  # The tie (4, 4) gets the value twice.


def test_pooling_sources_are_the_layers_before_each_pooling_deepest_first():
    assert pooling_sources("vgg16", 1) == []
    assert pooling_sources("vgg16", 3) == ["block2_conv2", "block1_conv2"]
    assert pooling_sources("vgg19", 4) == ["block3_conv4", "block2_conv2", "block1_conv2"]


def test_an_unpooling_decoder_takes_the_pooled_activations_and_keeps_full_width_before_unpooling():
    decoder = build_decoder(3, 0.5, "vgg16", unpooling=True)
    assert [tuple(tensor.shape[1:]) for tensor in decoder.inputs] == [
        (None, None, 256),
        (None, None, 128),
        (None, None, 64),
    ]
    assert decoder.get_layer("mirror_block3_conv1").filters == 128  # Feeds the unpooling of block2's 128 channels.
    assert decoder.get_layer("mirror_block2_conv2").filters == 64  # Half width elsewhere.
    picture = decoder([np.ones((1, 4, 5, 256)), np.ones((1, 8, 10, 128)), np.ones((1, 16, 20, 64))])
    assert picture.shape == (1, 16, 20, 3)


def test_the_unpooling_decoder_puts_detail_where_the_encoder_saw_it():
    """Zero activations but one maximum per window: the decoder's first unpooled map is non-zero only there."""
    decoder = build_decoder(2, 1.0, "vgg16", unpooling=True)
    activations = np.zeros((1, 8, 8, 64), np.float32)
    activations[0, 0::2, 1::2, :] = 1.0  # Every window's maximum at its top right.
    unpooling = keras.Model(decoder.inputs, decoder.get_layer("unpool_block1_pool").output)
    unpooled = unpooling([np.ones((1, 4, 4, 128), np.float32), activations]).numpy()
    nonzero = np.abs(unpooled).sum(axis=-1) > 0
    assert nonzero[0, 0::2, 1::2].any()
    assert not nonzero[0, 1::2, :].any() and not nonzero[0, 0::2, 0::2].any()


def test_the_guided_filter_reproduces_an_affine_function_of_the_guide():
    rng = np.random.default_rng(0)
    guide = rng.random((1, 30, 40, 3)).astype(np.float32)
    matrix, offset = rng.normal(size=(3, 3)), rng.normal(size=3)
    picture = (guide @ matrix.T + offset).astype(np.float32)
    smoothed = guided_filter(tf.constant(picture), tf.constant(guide), radius=3, epsilon=1e-8).numpy()
    np.testing.assert_allclose(smoothed, picture, atol=1e-4)


def test_the_guided_filter_smooths_noise_but_keeps_the_guides_edge():
    guide = np.zeros((1, 32, 32, 3), np.float32)
    guide[:, :, 16:] = 1.0  # A vertical edge.
    rng = np.random.default_rng(1)
    picture = 0.2 + 0.6 * guide + rng.normal(0.0, 0.1, guide.shape).astype(np.float32)
    smoothed = guided_filter(tf.constant(picture), tf.constant(guide), radius=4, epsilon=1e-3).numpy()
    clean = 0.2 + 0.6 * guide
    assert np.abs(smoothed - clean).mean() < 0.3 * np.abs(picture - clean).mean()
    # The step stays a step: no ramp across the edge.
    assert smoothed[0, :, 15].mean() < 0.3 and smoothed[0, :, 16].mean() > 0.7


def test_box_mean_averages_only_the_pixels_inside_the_image():
    ones = tf.ones((1, 5, 7, 2))
    np.testing.assert_allclose(box_mean(ones, 2).numpy(), 1.0, atol=1e-6)  # No dark border.
    ramp = tf.reshape(tf.range(5, dtype=tf.float32), (1, 1, 5, 1))
    np.testing.assert_allclose(box_mean(ramp, 1).numpy()[0, 0, :, 0], [0.5, 1, 2, 3, 3.5])


@pytest.fixture(scope="module")
def photorealistic_model():
    decoders = {level: tiny_decoder(level, unpooling=level > 1) for level in (3, 2, 1)}
    return UniversalStyleTransfer(decoders, "vgg19", extractor_builder=tiny_builder)


def test_a_model_of_unpooling_decoders_is_photorealistic_and_paints_at_the_photos_size(photorealistic_model):
    assert photorealistic_model.photorealistic
    assert photorealistic_model.sources[3] == ["block2_conv2", "block1_conv2"]
    statistics = photorealistic_model.style_statistics(make_painting(40, 36))
    photo = make_photo(30, 45)
    picture = photorealistic_model.transfer(photo, statistics)
    assert picture.shape == photo.shape
    assert picture.min() >= 0.0 and picture.max() <= 1.0
    layer_names = [layer.name for layer in photorealistic_model.transfer_network().layers]
    assert "smoothing" in layer_names


def test_the_photorealistic_picture_keeps_the_photos_edges(photorealistic_model):
    """Random decoders paint noise; smoothed along the photo's edges, the picture's edges are the photo's."""
    photo = np.full((32, 32, 3), 0.2, np.float32)
    photo[:, 16:] = 0.8
    statistics = photorealistic_model.style_statistics(make_painting(40, 40))
    picture = photorealistic_model.transfer(photo, statistics)
    horizontal = np.abs(np.diff(picture.mean(axis=-1), axis=1)).mean(axis=0)
    assert np.argmax(horizontal) == 15  # The strongest change is at the photo's edge.
    assert horizontal[15] > 5 * np.median(horizontal)


def test_unpooling_and_upsampling_decoders_are_not_mixed():
    decoders = {3: tiny_decoder(3, unpooling=True), 2: tiny_decoder(2)}
    with pytest.raises(ConfigError, match="use one kind"):
        UniversalStyleTransfer(decoders, "vgg19", extractor_builder=tiny_builder)
