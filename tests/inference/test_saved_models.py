"""The shipped styles: every file present, loadable, under the mobile contract, and faithful to Keras."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tf_style.export import parity
from tf_style.inference import registry, runners
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import TransformNet

from conftest import make_photo

STYLES = registry.shipped_styles()


def test_at_least_four_styles_ship():
    assert len(STYLES) >= 4, STYLES


@pytest.mark.parametrize("style", STYLES)
def test_shipped_style(style):
    folder = os.path.join(registry.saved_models_dir(), style)
    expected = {
        f"{style}.keras",
        f"{style}_fp16.tflite",
        f"{style}_int8.tflite",
        "painting.jpg",
        "sample.jpg",
        "MODEL_CARD.md",
        "model_card.json",
    }
    assert expected <= set(os.listdir(folder))
    assert sum(os.path.getsize(os.path.join(folder, name)) for name in expected) < 1.5 * 2**20  # Small: in git.
    card = json.loads(Path(os.path.join(folder, "model_card.json")).read_text())
    assert card["name"] == style and "non-commercial" in card["training_data_terms"]
    model = saving.load_keras_model(os.path.join(folder, f"{style}.keras"))
    assert isinstance(model, TransformNet) and model.num_styles == 1
    training = card["training"]
    if "painted_by" in card:  # A style of a multi-style network, baked alone: its architecture.
        assert {key: training["settings"][key] for key in model.architecture} == model.architecture
    else:  # A tf-style train run.
        assert model.preset == training["config"]["model_size"]
    photo = make_photo(48, 72)
    for precision, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
        runner = runners.TFLiteRunner.from_file(os.path.join(folder, f"{style}_{precision}.tflite"), num_threads=1)
        assert runner.signature_name == "stylize" and list(runner.inputs["image"]["shape_signature"]) == [1, -1, -1, 3]
        report = parity.parity_report(model, runner, [photo])
        parity.check_parity(report, quantization)
        assert card["tflite"][precision]["parity"]["min_psnr_db"] >= parity.PARITY_MIN_PSNR[quantization]
    stylized = np.asarray(model(photo[None]))[0]
    assert np.abs(stylized - photo).mean() > 0.05  # It paints: the picture is not the photo.


MULTI_STYLE = [name for name in registry.shipped_models() if name not in STYLES]


@pytest.mark.parametrize("name", MULTI_STYLE)
def test_shipped_multi_style_network(name):
    folder = os.path.join(registry.saved_models_dir(), name)
    card = json.loads(Path(os.path.join(folder, "model_card.json")).read_text())
    styles = card["styles"]
    model = saving.load_keras_model(os.path.join(folder, f"{name}.keras"))
    assert isinstance(model, TransformNet) and model.num_styles == len(styles) and list(model.style_names) == styles
    photo = make_photo(40, 56)
    one_hot = np.eye(len(styles), dtype=np.float32)
    for precision, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
        runner = runners.TFLiteRunner.from_file(os.path.join(folder, f"{name}_{precision}.tflite"), num_threads=1)
        assert set(runner.inputs) == {"image", "style_weights"}
        for index in range(len(styles)):
            parity.check_parity(
                parity.parity_report(model, runner, [photo], {"style_weights": one_hot[[index]]}), quantization
            )
    # Every style of the network ships alone too, baked: the same picture from the image alone.
    for index, style in enumerate(styles):
        assert style in STYLES
        single_card = json.loads(Path(os.path.join(registry.saved_models_dir(), style, "model_card.json")).read_text())
        assert single_card["painted_by"] == name and single_card["style_index"] == index
        single = saving.load_keras_model(os.path.join(registry.saved_models_dir(), style, f"{style}.keras"))
        expected = np.asarray(model({"image": photo[None], "style_weights": one_hot[[index]]}))
        np.testing.assert_allclose(np.asarray(single(photo[None])), expected, atol=1e-5)
