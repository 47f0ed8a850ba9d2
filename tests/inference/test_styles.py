"""Choosing a multi-style network's style: by name, by a blend of weights; one-line errors otherwise."""

import json
import os

import numpy as np
import pytest

from tf_style.errors import ConfigError
from tf_style.export import tflite
from tf_style.inference import apply, registry
from tf_style.inference.styles import parse_style_weights, style_weights_row
from tf_style.networks.johnson.transform_net import MODEL_SIZES, TransformNet
from tf_style.networks.layers import ConditionalInstanceNormalization
from tf_style.networks.signatures import multi_style_signature

from conftest import make_photo

NAMES = ["wave", "night", "scream"]


def test_parse_style_weights():
    assert parse_style_weights("wave:0.5, night:1.5") == {"wave": 0.5, "night": 1.5}
    assert parse_style_weights("wave:0") == {"wave": 0.0}
    for bad in ("wave", "wave:", "wave:x", ":1", "wave:-1", "wave:nan", "wave:inf", "wave:1,,night:1"):
        with pytest.raises(ConfigError, match="name:weight pairs"):
            parse_style_weights(bad)
    with pytest.raises(ConfigError, match="'wave' is given twice"):
        parse_style_weights("wave:1,wave:2")


def test_style_weights_row_is_one_hot_or_a_normalised_blend():
    np.testing.assert_array_equal(style_weights_row(NAMES, style="night"), [[0, 1, 0]])
    np.testing.assert_allclose(style_weights_row(NAMES, style_weights={"wave": 1, "scream": 3}), [[0.25, 0, 0.75]])
    row = style_weights_row(NAMES, style_weights={"scream": 2})
    assert row.dtype == np.float32 and row.shape == (1, 3)


@pytest.mark.parametrize(
    "style, weights, message",
    [
        (None, None, "paints 3 styles (wave, night, scream): choose one with --style"),
        ("wave", {"night": 1}, "choose one with --style"),
        ("sunflowers", None, "no style 'sunflowers'; its styles: wave, night, scream"),
        (None, {"wave": 0, "night": 0}, "must not all be zero"),
        (None, {"wave": -1}, ">= 0"),
    ],
)
def test_style_weights_row_errors(style, weights, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        style_weights_row(NAMES, style, weights)


@pytest.fixture(scope="module")
def multi_files(tmp_path_factory):
    """A tiny named three-style network as .keras, and as .tflite with and without a model card beside it."""
    folder = tmp_path_factory.mktemp("multi")
    net = TransformNet(
        **{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1}, seed=1, num_styles=3, style_names=NAMES
    )
    rng = np.random.default_rng(0)
    for layer in net.layers:
        if isinstance(layer, ConditionalInstanceNormalization):
            gamma, beta = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0.0, 0.5, beta.shape)])
    keras_path = str(folder / "multi.keras")
    net.save(keras_path)
    flatbuffer = tflite.convert_to_tflite(net, "float32", signature=multi_style_signature(3))
    (folder / "multi.tflite").write_bytes(flatbuffer)
    (folder / "model_card.json").write_text(json.dumps({"styles": NAMES}))
    bare = tmp_path_factory.mktemp("bare") / "multi.tflite"
    bare.write_bytes(flatbuffer)
    return {"net": net, "keras": keras_path, "tflite": str(folder / "multi.tflite"), "bare_tflite": str(bare)}


def _expected(net, photo, row):
    return np.asarray(net({"image": photo[None], "style_weights": np.asarray(row, np.float32)}))[0]


@pytest.mark.parametrize("kind", ["keras", "tflite"])
def test_a_multi_style_file_paints_the_chosen_style_or_blend(multi_files, kind):
    photo = make_photo(24, 32)
    paint = apply.load_style_model(multi_files[kind], num_threads=1, style="scream")
    np.testing.assert_allclose(paint(photo), _expected(multi_files["net"], photo, [[0, 0, 1]]), atol=1e-5)
    blend = apply.load_style_model(multi_files[kind], num_threads=1, style_weights={"wave": 1, "night": 1})
    np.testing.assert_allclose(
        apply.apply_style(blend, photo), _expected(multi_files["net"], photo, [[0.5, 0.5, 0]]), atol=1e-5
    )
    assert np.abs(paint(photo) - blend(photo)).mean() > 0.005


def test_a_file_without_names_numbers_its_styles(multi_files):
    assert registry.style_names(multi_files["bare_tflite"]) is None
    assert registry.style_names(multi_files["tflite"]) == NAMES
    photo = make_photo(16, 16)
    paint = apply.load_style_model(multi_files["bare_tflite"], num_threads=1, style="1")
    np.testing.assert_allclose(paint(photo), _expected(multi_files["net"], photo, [[0, 1, 0]]), atol=1e-5)
    with pytest.raises(ConfigError, match="its styles: 0, 1, 2"):
        apply.load_style_model(multi_files["bare_tflite"], num_threads=1, style="wave")


def test_a_multi_style_network_needs_a_style_and_a_one_style_network_refuses_one(multi_files, tmp_path):
    with pytest.raises(ConfigError, match="choose one with --style, or blend them with --style_weights"):
        apply.load_style_model(multi_files["tflite"], num_threads=1)
    single = multi_files["net"].single_style([0, 1, 0])
    path = str(tmp_path / "single.keras")
    single.save(path)
    with pytest.raises(ConfigError, match="paints one style; --style and --style_weights"):
        apply.load_style_model(path, style="night")


def test_shipped_styles_leave_out_multi_style_networks():
    styles, models = registry.shipped_styles(), registry.shipped_models()
    assert set(styles) <= set(models)
    for name in set(models) - set(styles):
        folder = os.path.join(registry.saved_models_dir(), name)
        assert registry.style_names(os.path.join(folder, f"{name}.keras"))
