"""The feed-forward transform network: shapes, normalisation, serialisation."""

import keras
import numpy as np
import pytest

from tf_style.errors import ConfigError
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, TransformNet, build_transform_net
from tf_style.networks.layers import CropLike, InstanceNormalization, ReflectionPadding2D, Upsampling2x


@pytest.fixture(scope="module")
def tiny_net():
    keras.utils.set_random_seed(0)
    return build_transform_net(width=0.125, num_residual_blocks=1)


@pytest.fixture(scope="module")
def tiny_mobile_net():
    keras.utils.set_random_seed(0)
    return build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1})


@pytest.mark.parametrize("height, width", [(16, 16), (17, 23), (31, 8), (64, 48), (9, 13), (8, 8)])
@pytest.mark.parametrize("net_name", ["tiny_net", "tiny_mobile_net"])
def test_output_shape_equals_input_shape_and_range(net_name, height, width, request):
    net = request.getfixturevalue(net_name)
    images = np.random.default_rng(height * width).uniform(size=(2, height, width, 3)).astype(np.float32)
    stylized = np.asarray(net(images))
    assert stylized.shape == images.shape and stylized.dtype == np.float32
    assert stylized.min() >= 0.0 and stylized.max() <= 1.0


@pytest.mark.parametrize("height, width", [(8, 8), (9, 14), (12, 11)])
def test_crop_like_keeps_the_top_left_at_the_reference_size(height, width):

    features = np.random.default_rng(height).normal(size=(2, 16, 16, 5)).astype(np.float32)
    reference = np.zeros((2, height, width, 3), np.float32)
    np.testing.assert_array_equal(np.asarray(CropLike()([features, reference])), features[:, :height, :width])


@pytest.mark.parametrize("padding", [0, 1, 4])
def test_reflection_padding_equals_numpy_reflect(padding):
    features = np.random.default_rng(padding).normal(size=(2, 6, 9, 3)).astype(np.float32)
    expected = np.pad(features, [(0, 0), (padding, padding), (padding, padding), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(np.asarray(ReflectionPadding2D(padding)(features)), expected)


def test_instance_normalisation_normalises_each_image_and_channel():
    layer = InstanceNormalization()
    rng = np.random.default_rng(1)
    features = (rng.normal(size=(2, 9, 7, 4)) * [1, 5, 0.1, 30] + [3, -2, 0, 100]).astype(np.float32)
    normalised = np.asarray(layer(features))
    np.testing.assert_allclose(normalised.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_instance_normalisation_scales_and_shifts_as_the_textbook_formula():
    rng = np.random.default_rng(2)
    features = (rng.normal(size=(2, 5, 6, 3)) * [2, 0.5, 10] + [1, -4, 50]).astype(np.float32)
    layer = InstanceNormalization(epsilon=1e-3)
    layer.build(features.shape)
    gamma, beta = np.array([0.5, 2.0, -1.0], np.float32), np.array([0.1, -0.3, 2.0], np.float32)
    layer.set_weights([gamma, beta])
    mean, variance = features.mean(axis=(1, 2), keepdims=True), features.var(axis=(1, 2), keepdims=True)
    expected = gamma * (features - mean) / np.sqrt(variance + 1e-3) + beta
    np.testing.assert_allclose(np.asarray(layer(features)), expected, rtol=1e-5, atol=1e-5)


def test_classic_and_mobile_sizes():
    classic = build_transform_net(**MODEL_SIZES["classic"])
    mobile = build_transform_net(**MODEL_SIZES["mobile"])
    assert classic.count_params() == build_transform_net().count_params()  # classic is the default
    assert 1_600_000 < classic.count_params() < 1_700_000  # About 1.7 M, as in Johnson et al.
    assert 100_000 < mobile.count_params() < 0.07 * classic.count_params()  # About 100 k.
    full_resolution_convs = [
        layer.name
        for layer in mobile.layers
        if isinstance(layer, keras.layers.Conv2D)
        and layer.strides == (1, 1)
        and layer.name in ("stem_conv", "up2_conv", "output_conv")
    ]
    assert full_resolution_convs == ["up2_conv", "output_conv"]
    assert mobile.get_layer("stem_conv").strides == (2, 2)
    assert mobile.get_layer("output_conv").kernel_size == (3, 3)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in classic.layers)
    # A bias before an instance norm is cancelled by it: only the last convolution has one.
    with_bias = [layer.name for layer in mobile.layers if isinstance(layer, keras.layers.Conv2D) and layer.use_bias]
    assert with_bias == ["output_conv"]


def test_config_round_trip_and_keras_file_is_bit_exact(tiny_net, tmp_path):
    images = np.random.default_rng(2).uniform(size=(1, 20, 28, 3)).astype(np.float32)
    rebuilt = TransformNet.from_config(tiny_net.get_config())
    assert rebuilt.get_config() == tiny_net.get_config()
    path = str(tmp_path / "net.keras")
    tiny_net.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, TransformNet) and loaded.get_config() == tiny_net.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(tiny_net(images)))


def test_a_network_knows_its_preset():
    assert TransformNet.from_preset("mobile").preset == "mobile"
    assert TransformNet.from_preset("classic").architecture == MODEL_SIZES["classic"]
    assert build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125}).preset is None
    with pytest.raises(ConfigError, match="unknown model size 'huge'"):
        TransformNet.from_preset("huge")


def test_a_plain_functional_network_file_still_loads(tmp_path):
    """Files saved before TransformNet existed hold a plain functional model of the same layers."""
    net = build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125}, seed=5)
    functional = keras.Model(net.input, net.output, name="transform_net")
    path = str(tmp_path / "old.keras")
    functional.save(path)
    images = np.random.default_rng(3).uniform(size=(1, 16, 24, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(saving.load_keras_model(path)(images)), np.asarray(net(images)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": 0}, "width must be > 0"),
        ({"num_residual_blocks": -1}, "num_residual_blocks"),
        ({"stem_stride": 3}, "stem_stride must be 1 or 2"),
        ({"output_kernel_size": 4}, "output_kernel_size must be odd"),
        ({"upsampling": "cubic"}, "upsampling must be one of"),
        ({"seed": -1}, "seed must be a whole number"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_transform_net(**kwargs)


def test_seed_decides_the_weights_and_leaves_global_random_state_alone():
    import tensorflow as tf

    def weights(seed):
        net = build_transform_net(width=0.125, num_residual_blocks=1, seed=seed)
        return [np.asarray(weight) for weight in net.weights]

    np.random.seed(3)
    tf.random.set_seed(3)
    first, numpy_next, tf_next = weights(7), np.random.rand(), float(tf.random.uniform(()))
    np.random.seed(3)
    tf.random.set_seed(3)
    again = weights(7)
    assert (np.random.rand(), float(tf.random.uniform(()))) == (numpy_next, tf_next)
    for one, other in zip(first, again):
        np.testing.assert_array_equal(one, other)
    other_seed = weights(8)
    assert not np.array_equal(first[0], other_seed[0])
    kernels = [weight for weight in first if weight.ndim == 4]
    assert len({kernel.tobytes() for kernel in kernels if kernel.shape == kernels[4].shape}) > 1  # Not one draw reused.


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling_equals_tensorflow_resize(interpolation):
    import tensorflow as tf

    features = np.random.default_rng(3).normal(size=(2, 5, 7, 6)).astype(np.float32)
    expected = tf.image.resize(features, (10, 14), method=interpolation).numpy()
    np.testing.assert_allclose(np.asarray(Upsampling2x(interpolation)(features)), expected, atol=1e-6)


def test_bilinear_upsampling_leaves_no_two_pixel_grid():
    """A learned 3x3 conv after nearest upsampling can tell the two pixels of a pair apart; after bilinear
    upsampling, a constant-slope ramp stays a ramp (every pixel differs from its neighbour by the same step)."""

    ramp = np.tile(np.arange(8, dtype=np.float32)[None, None, :, None], (1, 4, 1, 1))
    steps = {name: np.diff(np.asarray(Upsampling2x(name)(ramp))[0, 2, 2:-2, 0]) for name in ("nearest", "bilinear")}
    np.testing.assert_allclose(steps["bilinear"], 0.5, atol=1e-6)
    assert set(np.round(steps["nearest"], 6)) == {0.0, 1.0}


def test_converts_to_tflite_with_dynamic_size_and_matches_keras(tiny_net):
    """The classic layout with nearest upsampling converts too (the mobile one is covered in test_export)."""
    from tf_style.export import tflite
    from tf_style.inference import runners

    runner = runners.TFLiteRunner(tflite.convert_to_tflite(tiny_net, "float32"), num_threads=1)
    for height, width in ((20, 28), (33, 17)):
        images = np.random.default_rng(height).uniform(size=(height, width, 3)).astype(np.float32)
        stylized = runner(images)
        assert stylized.shape == images.shape
        np.testing.assert_allclose(stylized, np.asarray(tiny_net(images[None]))[0], atol=1e-5)
