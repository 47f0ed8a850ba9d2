"""Decoders and the coarse-to-fine universal model, with tiny random encoders and decoders."""

import keras
import numpy as np
import pytest

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.networks.universal.contract import blend_statistics
from tf_style.networks.universal.decoder import build_decoder, encoder_layers
from tf_style.networks.universal.model import UniversalStyleTransfer

from conftest import make_painting, make_photo, tiny_decoder

TINY_WIDTH = 1 / 16


def tiny_builder(layers, *args, **kwargs):
    """A tiny random VGG19 (real layer names), the same every time."""
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=TINY_WIDTH)


def tiny_decoders(levels=(3, 2, 1)):
    return {level: tiny_decoder(level) for level in levels}


@pytest.fixture(scope="module")
def model():
    return UniversalStyleTransfer(tiny_decoders(), "vgg19", extractor_builder=tiny_builder)


@pytest.mark.parametrize("level, shape", [(1, (32, 40, 64)), (2, (16, 20, 128)), (4, (4, 5, 512))])
def test_a_decoder_takes_its_levels_features_back_to_the_image_size(level, shape):
    decoder = build_decoder(level, 0.25)
    assert decoder.input_shape[-1] == shape[-1]
    output = decoder(np.zeros((1, *shape), np.float32))
    assert output.shape == (1, 32, 40, 3)
    assert output.dtype == "float32"


def test_the_decoder_mirrors_the_encoder_and_width_scales_its_hidden_filters():
    layers = encoder_layers("vgg16", 3)
    assert [name for name, _, _ in layers][-1] == "block3_conv1"
    assert sum(name.endswith("_pool") for name, _, _ in layers) == 2
    half, quarter = build_decoder(3, 0.5), build_decoder(3, 0.25)
    assert half.get_layer("mirror_block3_conv1").filters == 64  # Back to block2's 128 channels, halved.
    assert quarter.get_layer("mirror_block3_conv1").filters == 32
    assert half.get_layer("mirror_block1_conv1").filters == 3
    assert half.count_params() > 2 * quarter.count_params()  # The first layer reads all 256 channels.


def test_a_bfloat16_decoder_still_returns_float32():
    decoder = build_decoder(2, 0.25, dtype="mixed_bfloat16")
    assert decoder(np.ones((1, 4, 4, 128), np.float32)).dtype == "float32"


def test_bad_levels_and_widths_are_refused():
    with pytest.raises(ConfigError, match="level must be one of"):
        build_decoder(6)
    with pytest.raises(ConfigError, match="width"):
        build_decoder(2, 0.0)


@pytest.mark.parametrize("size", [(37, 45), (8, 8), (1, 3)])
def test_any_photo_size_comes_back_the_same_size_in_range(model, size):
    statistics = model.style_statistics(make_painting(40, 56), style_size=48)
    picture = model.transfer(make_photo(*size), statistics)
    assert picture.shape == (*size, 3)
    assert picture.dtype == np.float32
    assert picture.min() >= 0.0 and picture.max() <= 1.0


def test_style_strength_zero_decodes_the_photos_own_features(model):
    photo = make_photo(24, 32)
    first = model.style_statistics(make_painting(32, 32, seed=1), style_size=32)
    second = model.style_statistics(make_painting(32, 32, seed=5)[..., ::-1].copy(), style_size=32)
    unstyled = [model.transfer(photo, statistics, style_strength=0.0) for statistics in (first, second)]
    np.testing.assert_allclose(unstyled[0], unstyled[1], atol=1e-6)
    styled = [model.transfer(photo, statistics, style_strength=1.0) for statistics in (first, second)]
    assert np.abs(styled[0] - styled[1]).mean() > 1e-3


@pytest.mark.parametrize("transform", ["wct", "adain"])
def test_blended_statistics_with_one_weight_are_that_paintings(model, transform):
    photo = make_photo(24, 32)
    first = model.style_statistics(make_painting(32, 32, seed=1), transform, style_size=32)
    second = model.style_statistics(make_painting(32, 48, seed=2)[..., ::-1].copy(), transform, style_size=32)
    alone = model.transfer(photo, first, transform=transform)
    blended = model.transfer(photo, blend_statistics([first, second], [2.0, 0.0]), transform=transform)
    np.testing.assert_allclose(blended, alone, atol=1e-5)
    spread = "root" if transform == "wct" else "std"
    assert set(first) == {f"relu{level}_1_{part}" for level in (3, 2, 1) for part in ("mean", spread)}


def test_bad_settings_get_one_clear_error(model):
    statistics = model.style_statistics(make_painting(32, 32), style_size=32)
    photo = make_photo(16, 16)
    with pytest.raises(ConfigError, match="unknown transform"):
        model.transfer(photo, statistics, transform="gram")
    with pytest.raises(ConfigError, match="style_strength"):
        model.transfer(photo, statistics, style_strength=1.5)
    with pytest.raises(ConfigError, match="lack relu2_1_mean"):
        model.transfer(photo, {name: value for name, value in statistics.items() if not name.startswith("relu2")})
    with pytest.raises(ConfigError, match="weights"):
        blend_statistics([statistics], [-1.0])
    with pytest.raises(ConfigError, match="2 weights for 1"):
        blend_statistics([statistics], [0.5, 0.5])
    with pytest.raises(ConfigError, match="at least one decoder"):
        UniversalStyleTransfer({}, "vgg19", extractor_builder=tiny_builder)
