"""Keras files, TFLite conversion in every quantisation, the mobile contract, parity."""

import os

import keras
import numpy as np
import pytest

from tf_style.errors import ConfigError, ModelError, OutputError
from tf_style.export import parity, tflite
from tf_style.inference import runners
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, build_transform_net
from tf_style.networks.signatures import IMAGE_TO_IMAGE, ModelSignature, TensorSpec

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
    return {
        quantization: tflite.convert_to_tflite(net, quantization, representative_images=photos)
        for quantization in tflite.Quantization
    }


@pytest.mark.parametrize("quantization", list(tflite.Quantization))
def test_mobile_contract(converted, quantization):
    runner = runners.TFLiteRunner(converted[quantization], num_threads=1)
    assert runner.signature_name == IMAGE_TO_IMAGE.name == "stylize"
    assert list(runner.inputs) == ["image"] and list(runner.outputs) == ["stylized_image"]
    assert list(runner.inputs["image"]["shape_signature"]) == [1, -1, -1, 3]
    assert runner.inputs["image"]["dtype"] == np.float32 and runner.outputs["stylized_image"]["dtype"] == np.float32
    for height, width in ((8, 8), (37, 20), (64, 96)):
        stylized = runner(make_photo(height, width))
        assert stylized.shape == (height, width, 3) and stylized.dtype == np.float32
        assert stylized.min() >= 0.0 and stylized.max() <= 1.0


@pytest.mark.parametrize(
    "quantization, min_psnr, max_abs",
    [
        (tflite.Quantization.FLOAT32, 80.0, 1e-4),
        (tflite.Quantization.FLOAT16, 45.0, 0.02),
        (tflite.Quantization.DYNAMIC_INT8, 35.0, 0.15),
        (tflite.Quantization.INT8, 22.0, 0.6),  # This net's amplified output layer is hard on int8.
    ],
)
def test_parity_with_keras(net, converted, photos, quantization, min_psnr, max_abs):
    report = parity.parity_report(net, runners.TFLiteRunner(converted[quantization]), photos)
    assert report["num_images"] == 3
    assert report["min_psnr_db"] >= min_psnr and report["max_abs_diff"] <= max_abs, report
    parity.check_parity(report, quantization)  # Within the shipped thresholds too.


def test_quantised_models_are_smaller(converted):
    sizes = {quantization: len(content) for quantization, content in converted.items()}
    # The tiny test net's weights are only part of the file (graph and metadata are the rest).
    assert sizes["float16"] < 0.8 * sizes["float32"]
    assert sizes["dynamic_int8"] < sizes["float16"] and sizes["int8"] < sizes["float16"]


def test_check_parity_fails_below_threshold():
    report = {"min_psnr_db": 30.0, "max_abs_diff": 0.05}
    parity.check_parity(report, "dynamic_int8")
    with pytest.raises(ModelError, match="float16 parity too poor: PSNR 30.0 dB .*needs >= 40 dB"):
        parity.check_parity(report, "float16")


def test_psnr():
    image = np.full((4, 4, 3), 0.5, np.float32)
    assert parity.psnr(image, image) == float("inf")
    assert parity.psnr(image, image + 0.1) == pytest.approx(20.0, abs=1e-4)


def test_quantization_enum_rejects_unknown_values(net):
    assert tflite.Quantization.parse("float16") is tflite.Quantization.FLOAT16
    with pytest.raises(ConfigError, match="unknown quantization 'int4'; choose one of float32, float16"):
        tflite.Quantization.parse("int4")
    with pytest.raises(ConfigError, match="int8 quantization needs representative images"):
        tflite.convert_to_tflite(net, "int8")


def test_runner_rejects_bad_models_and_small_images(tmp_path, converted):
    with pytest.raises(ModelError, match="not a TFLite model"):
        runners.TFLiteRunner(b"definitely not a flatbuffer" * 10)
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelError, match="model file is empty"):
        runners.TFLiteRunner.from_file(str(tmp_path / "empty.tflite"))
    with pytest.raises(ModelError, match="model file not found"):
        runners.TFLiteRunner.from_file(str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelError, match="directory"):
        runners.TFLiteRunner.from_file(str(tmp_path))
    runner = runners.TFLiteRunner(converted["float32"])
    with pytest.raises(ConfigError, match="needs at least 8 pixels"):
        runner(np.zeros((7, 30, 3), np.float32))


def test_keras_file_round_trip_is_bit_exact_and_atomic(net, tmp_path):
    path = str(tmp_path / "style.keras")
    saving.save_keras_model(net, path)
    loaded = saving.load_keras_model(path)
    photo = make_photo(24, 32)[None]
    np.testing.assert_array_equal(np.asarray(loaded(photo)), np.asarray(net(photo)))
    with pytest.raises(OutputError, match="output file exists"):
        saving.save_keras_model(net, path)
    with pytest.raises(OutputError, match="must end in .keras"):
        saving.save_keras_model(net, str(tmp_path / "style.h5"))
    assert sorted(os.listdir(tmp_path)) == ["style.keras"]  # No temporary file left behind.


def test_load_keras_model_rejects_bad_files(tmp_path):
    (tmp_path / "corrupt.keras").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(ModelError, match="not a readable Keras model"):
        saving.load_keras_model(str(tmp_path / "corrupt.keras"))
    classifier = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]
    )
    classifier.save(str(tmp_path / "classifier.keras"))
    with pytest.raises(ModelError, match="not an image-to-image model"):
        saving.load_keras_model(str(tmp_path / "classifier.keras"))


def test_a_two_input_signature_converts_runs_and_keeps_parity():
    """Export, the runner and parity follow the signature: here an image and a style-weights vector."""
    keras.utils.set_random_seed(6)
    image = keras.Input((None, None, 3), name="image")
    style_weights = keras.Input((4,), name="style_weights")
    shift = keras.layers.Reshape((1, 1, 3))(keras.layers.Dense(3, name="shift")(style_weights))
    mixed = keras.layers.Add()([keras.layers.Conv2D(3, 1, name="mix")(image), shift])
    model = keras.Model({"image": image, "style_weights": style_weights}, keras.layers.Activation("sigmoid")(mixed))
    signature = ModelSignature(
        "stylize",
        inputs=(TensorSpec("image", (1, None, None, 3)), TensorSpec("style_weights", (1, 4))),
        outputs=(TensorSpec("stylized_image", (1, None, None, 3)),),
    )
    weights_a, weights_b = np.array([[1.0, 0, 0, 0]], np.float32), np.array([[0, 0.5, 0.5, 0]], np.float32)
    photos = [make_photo(24, 32), make_photo(16, 20, seed=2)]
    for quantization in ("float32", "int8"):
        tflite_bytes, report = parity.convert_and_check(
            model,
            quantization,
            photos,
            latency_sizes=(32,),
            num_threads=1,
            signature=signature,
            inputs={"style_weights": weights_a},
        )
        assert set(report["inputs"]) == {"image", "style_weights"} and report["inputs"]["style_weights"]["shape"] == [
            1,
            4,
        ]
        runner = runners.TFLiteRunner(tflite_bytes, num_threads=1)
        assert runner.image_input == "image" and runner.image_output == "stylized_image"
        painted_a, painted_b = runner(photos[0], style_weights=weights_a), runner(photos[0], style_weights=weights_b)
        assert painted_a.shape == (24, 32, 3) and np.abs(painted_a - painted_b).max() > 0.01  # The weights matter.
        expected = np.asarray(model({"image": photos[0][None], "style_weights": weights_b}))[0]
        assert parity.psnr(expected, painted_b) > parity.PARITY_MIN_PSNR[tflite.Quantization(quantization)]
    with pytest.raises(ConfigError, match="needs the inputs style_weights"):
        runner(photos[0])
