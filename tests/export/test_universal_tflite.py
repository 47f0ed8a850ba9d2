"""The universal model in TFLite: style encoder and transfer model, parity with Keras, the mobile contract."""

import keras
import numpy as np
import pytest

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.export import universal
from tf_style.inference.runners import TFLiteRunner
from tf_style.networks.universal.model import UniversalStyleTransfer

from conftest import make_painting, make_photo, tiny_decoder


def tiny_builder(layers, *args, **kwargs):
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)


@pytest.fixture(scope="module")
def model():
    return UniversalStyleTransfer({2: tiny_decoder(2), 1: tiny_decoder(1)}, "vgg19", extractor_builder=tiny_builder)


@pytest.mark.parametrize("transform", ["wct", "adain"])
def test_the_two_files_paint_what_the_keras_model_paints(model, transform):
    painting, photo = make_painting(40, 56), make_photo(36, 44)
    encoder_bytes, encoder_report = universal.convert_style_encoder(model, "float32", [painting], transform)
    transfer_bytes, transfer_report = universal.convert_transfer(
        model, "float32", [photo], painting, transform, latency_sizes=(32,)
    )
    assert max(encoder_report["parity"]["max_relative_error"].values()) < 1e-4
    assert transfer_report["parity"]["min_psnr_db"] > 60
    assert set(transfer_report["inputs"]) == {spec.name for spec in model.transfer_signature(transform).inputs}
    encoder, transfer = TFLiteRunner(encoder_bytes, paints=False), TFLiteRunner(transfer_bytes)
    assert universal.end_to_end_psnr(model, encoder, transfer, photo, painting, transform) > 60


def test_a_float16_style_encoder_keeps_the_statistics(model):
    # (The transfer model's float16 parity is checked on the real decoders when they are packaged:
    # random tiny networks whitened at every level magnify float16 rounding without bound.)
    _, report = universal.convert_style_encoder(model, "float16", [make_painting(40, 56)])
    assert 0 < max(report["parity"]["max_relative_error"].values()) < 1e-2


def test_the_transfer_model_takes_any_aligned_size_and_keeps_it(model):
    transfer_bytes, _ = universal.convert_transfer(
        model, "float32", [make_photo(32, 32)], make_painting(32, 32), latency_sizes=()
    )
    runner = TFLiteRunner(transfer_bytes)
    statistics = model.style_statistics(make_painting(32, 32))
    for shape in [(16, 24), (40, 8 * 7)]:
        picture = runner(make_photo(*shape), **statistics, style_strength=np.ones((1, 1), np.float32))
        assert picture.shape == (*shape, 3)


def test_full_int8_is_refused_for_the_style_encoder(model):
    with pytest.raises(ConfigError, match="float32, float16 or dynamic_int8"):
        universal.convert_style_encoder(model, "int8", [make_painting(32, 32)])


def test_aligned_crops_to_the_stride_and_refuses_tiny_images():
    assert universal.aligned(np.zeros((37, 50, 3)), 8).shape == (32, 48, 3)
    with pytest.raises(ConfigError, match="smaller than 16"):
        universal.aligned(np.zeros((12, 50, 3)), 8)
