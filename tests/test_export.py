"""Keras files, TFLite conversion in every quantisation, the mobile contract, parity."""

import os

import keras
import numpy as np
import pytest

from tf_style import export
from tf_style.errors import ConfigError, ModelError, OutputError
from tf_style.transform_net import MODEL_SIZES, build_transform_net

from conftest import make_painting, make_photo


@pytest.fixture(scope="module")
def net():
    """A tiny mobile-shaped net whose output varies with the input (random weights, scaled up)."""
    keras.utils.set_random_seed(3)
    model = build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1})
    model.get_layer("output_conv").kernel.assign(model.get_layer("output_conv").kernel * 8.0)
    return model


@pytest.fixture(scope="module")
def photos():
    return [make_photo(40, 56, seed=0), make_painting(48, 48, seed=1), make_photo(33, 21, seed=2)]


@pytest.fixture(scope="module")
def converted(net, photos):
    return {quantization: export.convert_to_tflite(net, quantization, representative_images=photos)
            for quantization in export.Quantization}


@pytest.mark.parametrize("quantization", list(export.Quantization))
def test_mobile_contract(converted, quantization):
    runner = export.TFLiteRunner(converted[quantization], num_threads=1)
    assert runner.signature_name == export.SIGNATURE_NAME == "stylize"
    assert (runner.input_name, runner.output_name) == ("image", "stylized_image")
    assert list(runner.input_details["shape_signature"]) == [1, -1, -1, 3]
    assert runner.input_details["dtype"] == np.float32 and runner.output_details["dtype"] == np.float32
    for height, width in ((8, 8), (37, 20), (64, 96)):
        stylized = runner(make_photo(height, width))
        assert stylized.shape == (height, width, 3) and stylized.dtype == np.float32
        assert 0.0 <= stylized.min() and stylized.max() <= 1.0


@pytest.mark.parametrize("quantization, min_psnr, max_abs", [
    (export.Quantization.FLOAT32, 80.0, 1e-4),
    (export.Quantization.FLOAT16, 45.0, 0.02),
    (export.Quantization.DYNAMIC_INT8, 35.0, 0.15),
    (export.Quantization.INT8, 22.0, 0.6),  # This net's amplified output layer is hard on int8.
])
def test_parity_with_keras(net, converted, photos, quantization, min_psnr, max_abs):
    report = export.parity_report(net, export.TFLiteRunner(converted[quantization]), photos)
    assert report["num_images"] == 3
    assert report["min_psnr_db"] >= min_psnr and report["max_abs_diff"] <= max_abs, report
    export.check_parity(report, quantization)  # Within the shipped thresholds too.


def test_quantised_models_are_smaller(converted):
    sizes = {quantization: len(content) for quantization, content in converted.items()}
    # The tiny test net's weights are only part of the file (graph and metadata are the rest).
    assert sizes["float16"] < 0.8 * sizes["float32"]
    assert sizes["dynamic_int8"] < sizes["float16"] and sizes["int8"] < sizes["float16"]


def test_check_parity_fails_below_threshold():
    report = {"min_psnr_db": 30.0, "max_abs_diff": 0.05}
    export.check_parity(report, "dynamic_int8")
    with pytest.raises(ModelError, match="float16 parity too poor: PSNR 30.0 dB .*needs >= 40 dB"):
        export.check_parity(report, "float16")


def test_psnr():
    image = np.full((4, 4, 3), 0.5, np.float32)
    assert export.psnr(image, image) == float("inf")
    assert export.psnr(image, image + 0.1) == pytest.approx(20.0, abs=1e-4)


def test_quantization_enum_rejects_unknown_values(net):
    assert export.Quantization.parse("float16") is export.Quantization.FLOAT16
    with pytest.raises(ConfigError, match="unknown quantization 'int4'; choose one of float32, float16"):
        export.Quantization.parse("int4")
    with pytest.raises(ConfigError, match="int8 quantization needs representative images"):
        export.convert_to_tflite(net, "int8")


def test_runner_rejects_bad_models_and_small_images(tmp_path, converted):
    with pytest.raises(ModelError, match="not a TFLite model"):
        export.TFLiteRunner(b"definitely not a flatbuffer" * 10)
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelError, match="model file is empty"):
        export.TFLiteRunner.from_file(str(tmp_path / "empty.tflite"))
    with pytest.raises(ModelError, match="model file not found"):
        export.TFLiteRunner.from_file(str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelError, match="directory"):
        export.TFLiteRunner.from_file(str(tmp_path))
    runner = export.TFLiteRunner(converted["float32"])
    with pytest.raises(ConfigError, match="needs at least 8 pixels"):
        runner(np.zeros((7, 30, 3), np.float32))


def test_keras_file_round_trip_is_bit_exact_and_atomic(net, tmp_path):
    path = str(tmp_path / "style.keras")
    export.save_keras_model(net, path)
    loaded = export.load_keras_model(path)
    photo = make_photo(24, 32)[None]
    np.testing.assert_array_equal(np.asarray(loaded(photo)), np.asarray(net(photo)))
    with pytest.raises(OutputError, match="output file exists"):
        export.save_keras_model(net, path)
    with pytest.raises(OutputError, match="must end in .keras"):
        export.save_keras_model(net, str(tmp_path / "style.h5"))
    assert sorted(os.listdir(tmp_path)) == ["style.keras"]  # No temporary file left behind.


def test_load_keras_model_rejects_bad_files(tmp_path):
    (tmp_path / "corrupt.keras").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(ModelError, match="not a readable Keras model"):
        export.load_keras_model(str(tmp_path / "corrupt.keras"))
    classifier = keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D(),
                                   keras.layers.Dense(10)])
    classifier.save(str(tmp_path / "classifier.keras"))
    with pytest.raises(ModelError, match="not an image-to-image model"):
        export.load_keras_model(str(tmp_path / "classifier.keras"))
