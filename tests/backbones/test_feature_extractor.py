"""Feature extractor: layer names, truncation, preprocessing, precision, weights."""

import keras
import numpy as np
import pytest

from tf_style.backbones import vgg, weights
from tf_style.backbones.feature_extractor import FeatureExtractor, build_feature_extractor
from tf_style.backbones.vgg import resolve_layer_name
from tf_style.errors import ConfigError, WeightsError
from tf_style.io import files


@pytest.mark.parametrize(
    "name, keras_name",
    [
        ("block4_conv2", "block4_conv2"),
        ("conv4_2", "block4_conv2"),
        ("relu4_2", "block4_conv2"),
        ("relu1_1", "block1_conv1"),
        ("pool3", "block3_pool"),
        (" conv5_4 ", "block5_conv4"),
    ],
)
def test_resolve_layer_name(name, keras_name):
    assert resolve_layer_name(name, "vgg19") == keras_name


@pytest.mark.parametrize("name", ["conv5_4", "block3_conv4"])
def test_vgg16_has_three_convolutions_in_block3_to_5(name):
    with pytest.raises(ConfigError, match="unknown layer"):
        resolve_layer_name(name, "vgg16")


@pytest.mark.parametrize("name", ["conv6_1", "block4_conv9", "fc7", "relu4-2", ""])
def test_unknown_layer_names(name):
    with pytest.raises(ConfigError, match="unknown layer") as error:
        resolve_layer_name(name, "vgg19")
    assert "\n" not in str(error.value)


def test_outputs_are_a_dict_keyed_by_keras_name_and_network_stops_at_deepest_layer():
    extractor = build_feature_extractor(["conv1_1", "relu3_1"], "vgg19", weights=None, width=1 / 16)
    outputs = extractor(np.zeros((1, 32, 40, 3), np.float32))
    assert sorted(outputs) == ["block1_conv1", "block3_conv1"]
    assert outputs["block1_conv1"].shape == (1, 32, 40, 4)
    assert outputs["block3_conv1"].shape == (1, 8, 10, 16)
    vgg = extractor.get_layer("vgg19_to_block3_conv1")
    names = [layer.name for layer in vgg.layers]
    assert names[-1] == "block3_conv1" and "block3_conv2" not in names and "block4_conv1" not in names
    assert extractor.min_input_size == 4


@pytest.mark.parametrize(
    "pooling, layer_type",
    [("avg", keras.layers.AveragePooling2D), ("max", keras.layers.MaxPooling2D), ("blur", vgg.BlurPooling2D)],
)
def test_pooling(pooling, layer_type):
    extractor = build_feature_extractor(["conv2_1"], "vgg19", pooling=pooling, weights=None, width=1 / 16)
    pool = extractor.get_layer("vgg19_to_block2_conv1").get_layer("block1_pool")
    assert isinstance(pool, layer_type)


@pytest.mark.parametrize("height, width", [(12, 16), (13, 7)])
def test_blur_pooling_is_a_binomial_blur_then_every_second_pixel(height, width):
    maps = np.random.default_rng(0).normal(size=(2, height, width, 3)).astype(np.float32)
    pooled = keras.ops.convert_to_numpy(vgg.BlurPooling2D()(maps))
    # The definition: pad one zero each side, filter [1, 3, 3, 1] / 8 along both axes, keep
    # the outputs centred between pixels 2i and 2i + 1 (where 2 x 2 average pooling's are).
    taps = np.array([1, 3, 3, 1]) / 8
    padded = np.pad(maps, [(0, 0), (1, 1), (1, 1), (0, 0)])
    expected = np.zeros((2, height // 2, width // 2, 3))
    for i in range(height // 2):
        for j in range(width // 2):
            window = padded[:, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4]
            expected[:, i, j] = np.einsum("a,b,nabc->nc", taps, taps, window)
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)
    average = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(2)(maps))
    assert pooled.shape == average.shape


def test_blur_pooling_passes_less_of_what_the_pooled_map_cannot_hold():
    # A period of 4 pixels is the Nyquist rate of the pooled map: average pooling keeps
    # cos(pi / 4) = 71 % of its amplitude, the binomial filter cos(pi / 4) ** 3 = 35 %.
    columns = np.arange(32)
    wave = np.broadcast_to(np.sin(np.pi * columns / 2 + 0.3)[None, None, :, None], (1, 32, 32, 1)).astype(np.float32)
    blur = keras.ops.convert_to_numpy(vgg.BlurPooling2D()(wave))[:, 2:-2, 2:-2]
    average = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(2)(wave))[:, 2:-2, 2:-2]
    # Both sample the filtered wave at the same centres, so the ratio is that of the two gains.
    assert np.abs(blur).max() / np.abs(average).max() == pytest.approx(0.5, rel=0.01)


def test_preprocessing_is_caffe_bgr_inside_the_model():
    extractor = build_feature_extractor(["conv1_1"], "vgg19", weights=None, width=1 / 16)
    preprocess = extractor.get_layer("vgg_preprocessing")
    rgb = np.zeros((1, 1, 1, 3), np.float32)
    rgb[..., 0] = 1.0  # Pure red.
    bgr = np.asarray(preprocess(rgb))[0, 0, 0]
    np.testing.assert_allclose(bgr, [0 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-6)


def test_bfloat16_precision_computes_in_bfloat16_and_returns_float32():
    extractor = build_feature_extractor(["conv2_1"], "vgg19", weights=None, width=1 / 16, precision="bfloat16")
    conv = extractor.get_layer("vgg19_to_block2_conv1").get_layer("block2_conv1")
    assert conv.compute_dtype == "bfloat16" and conv.variable_dtype == "float32"
    output = extractor(np.random.default_rng(0).uniform(size=(1, 16, 16, 3)).astype(np.float32))
    assert output["block2_conv1"].dtype == "float32"


def test_with_precision_copies_the_weights_into_the_other_precision():
    keras.utils.set_random_seed(3)
    mixed = build_feature_extractor(
        ["conv1_1", "conv2_1"], "vgg19", weights=None, width=1 / 16, precision="bfloat16", pooling="max"
    )
    twin = mixed.with_precision("float32")
    assert mixed.precision == "bfloat16" and twin.precision == "float32"
    assert twin.get_layer("vgg19_to_block2_conv1").get_layer("block2_conv1").compute_dtype == "float32"
    assert twin.get_layer("vgg19_to_block2_conv1").get_layer("block1_pool").__class__.__name__ == "MaxPooling2D"
    for ours, theirs in zip(mixed.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    image = np.random.default_rng(0).uniform(size=(1, 16, 16, 3)).astype(np.float32)
    exact, rounded = twin(image)["block2_conv1"].numpy(), mixed(image)["block2_conv1"].numpy()
    # The same network: only bfloat16's rounding (8 significant bits) tells them apart.
    assert np.abs(exact - rounded).max() < 0.05 * np.abs(exact).max()
    assert twin.with_precision("float32") is twin


def test_auto_precision_resolves_to_a_concrete_one(monkeypatch):
    from tf_style import hardware

    monkeypatch.setattr(hardware, "fast_bfloat16", lambda: True)
    extractor = build_feature_extractor(["conv1_1"], "vgg19", weights=None, width=1 / 16, precision="auto")
    assert extractor.precision == "bfloat16"
    assert extractor.get_layer("vgg19_to_block1_conv1").get_layer("block1_conv1").compute_dtype == "bfloat16"
    monkeypatch.setattr(hardware, "fast_bfloat16", lambda: False)
    assert (
        build_feature_extractor(["conv1_1"], "vgg19", weights=None, width=1 / 16, precision="auto").precision
        == "float32"
    )


def test_config_round_trips_and_settings_are_attributes():
    keras.utils.set_random_seed(4)
    extractor = build_feature_extractor(
        ["relu2_1", "conv1_1", "block2_conv1"], "vgg19", weights=None, width=1 / 16, pooling="max"
    )
    assert isinstance(extractor, FeatureExtractor)
    assert extractor.feature_layers == ("block2_conv1", "block1_conv1")  # Keras names, each once.
    assert (extractor.backbone, extractor.pooling, extractor.precision) == ("vgg19", "max", "float32")
    assert extractor.min_input_size == 2 and extractor.weights_sha256 is None
    rebuilt = FeatureExtractor.from_config(extractor.get_config())
    assert rebuilt.get_config() == extractor.get_config()
    assert [w.shape for w in rebuilt.get_weights()] == [w.shape for w in extractor.get_weights()]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backbone": "resnet50"}, "unknown backbone"),
        ({"precision": "float16"}, "unknown precision"),
        ({"pooling": "median", "weights": None}, "unknown pooling"),
        ({"width": 0.5}, "random weights"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_feature_extractor(["conv1_1"], **kwargs)


def test_vgg19_weights_file_missing(tmp_path):
    with pytest.raises(WeightsError, match="weights file not found.*--backbone=vgg16_hed"):
        weights.load_pretrained_weights("vgg19", str(tmp_path / "nope.h5"))


def test_vgg19_weights_file_with_wrong_checksum(tmp_path):
    path = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    path.write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="md5 .* expected 253f8cb515780f3b799900260a226db6"):
        weights.load_pretrained_weights("vgg19", str(path))


def test_vgg19_download_failure_says_what_to_do(monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure: no route to host")

    weights._load_pretrained_weights.cache_clear()
    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(WeightsError) as error:
        weights.load_pretrained_weights("vgg19")
    message = str(error.value)
    assert "cannot be downloaded" in message and "--vgg_weights" in message and "vgg16_hed" in message
    assert "\n" not in message


def test_vgg19_local_weights_file_is_loaded_by_layer_name(tmp_path, monkeypatch):
    """A file in Keras's VGG19 notop layout loads into the truncated extractor."""
    keras.utils.set_random_seed(3)
    source = keras.applications.VGG19(include_top=False, weights=None)
    path = str(tmp_path / "vgg19_notop.h5")
    source.save(path)
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_MD5", files.file_digest(path, "md5"))
    extractor = build_feature_extractor(["conv2_1"], "vgg19", weights=path)
    vgg = extractor.get_layer("vgg19_to_block2_conv1")
    for name in ("block1_conv1", "block1_conv2", "block2_conv1"):
        for loaded, original in zip(vgg.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(loaded, original)
    assert extractor.weights_sha256 == files.file_digest(path, "sha256")


@pytest.mark.backbone
def test_offline_backbone_loads_pretrained_vgg16(hed_extractor):
    assert hed_extractor.backbone == "vgg16_hed" and len(hed_extractor.weights_sha256) == 64
    outputs = hed_extractor(np.random.default_rng(0).uniform(size=(1, 32, 32, 3)).astype(np.float32))
    assert outputs["block5_conv1"].shape == (1, 2, 2, 512)
    assert outputs["block1_conv1"].shape == (1, 32, 32, 64)
    # Pretrained first-layer filters respond to edges: activations are far from uniform.
    assert float(np.std(outputs["block1_conv1"])) > 1.0
