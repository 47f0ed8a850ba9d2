"""One network, many styles: conditional instance normalisation, baking a style, TFLite with two inputs."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tf_style.errors import ConfigError
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, TransformNet
from tf_style.networks.layers import ConditionalInstanceNormalization, InstanceNormalization
from tf_style.networks.signatures import multi_style_signature

from conftest import REPOSITORY

NUM_STYLES = 3


@pytest.fixture(scope="module")
def multi_net():
    """A tiny three-style network whose styles differ (random gammas and betas, not the ones and zeros of a new one)."""
    net = TransformNet(
        **{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1},
        seed=3,
        num_styles=3,
        style_names=["a", "b", "c"],
    )
    rng = np.random.default_rng(0)
    for layer in net.layers:
        if isinstance(layer, ConditionalInstanceNormalization):
            gamma, beta = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0.0, 0.5, beta.shape)])
    return net


def _photos(height=20, width=28, count=1):
    return np.random.default_rng(height * width).uniform(size=(count, height, width, 3)).astype(np.float32)


def _paint(net, photos, weights):
    weights = np.broadcast_to(np.asarray(weights, np.float32), (len(photos), NUM_STYLES))
    return np.asarray(net({"image": photos, "style_weights": weights}))


def test_conditional_norm_with_a_one_hot_row_is_instance_norm_with_that_styles_scale_and_shift():
    features = np.random.default_rng(1).normal(2.0, 3.0, size=(2, 5, 6, 4)).astype(np.float32)
    conditional = ConditionalInstanceNormalization(NUM_STYLES)
    conditional.build([features.shape, (2, NUM_STYLES)])
    gammas = np.arange(12, dtype=np.float32).reshape(3, 4) / 10 + 0.5
    betas = -np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    conditional.set_weights([gammas, betas])
    plain = InstanceNormalization()
    plain.build(features.shape)
    for style in range(NUM_STYLES):
        plain.set_weights([gammas[style], betas[style]])
        one_hot = np.eye(NUM_STYLES, dtype=np.float32)[[style, style]]
        np.testing.assert_allclose(
            np.asarray(conditional([features, one_hot])), np.asarray(plain(features)), rtol=1e-5, atol=1e-5
        )
    # Each image of a batch takes its own row.
    rows = np.eye(NUM_STYLES, dtype=np.float32)[[0, 2]]
    mixed = np.asarray(conditional([features, rows]))
    plain.set_weights([gammas[2], betas[2]])
    np.testing.assert_allclose(mixed[1], np.asarray(plain(features))[1], rtol=1e-5, atol=1e-5)


def test_styles_paint_differently_and_a_blend_lies_between(multi_net):
    photos = _photos()
    first, second = _paint(multi_net, photos, [1, 0, 0]), _paint(multi_net, photos, [0, 1, 0])
    assert first.shape == photos.shape and np.abs(first - second).mean() > 0.01
    blend = _paint(multi_net, photos, [0.5, 0.5, 0])
    assert np.abs(blend - first).mean() < np.abs(second - first).mean()
    assert np.abs(blend - second).mean() < np.abs(second - first).mean()


@pytest.mark.parametrize("weights", [[0, 1, 0], [0.2, 0.3, 0.5], [2, 0, 2]])
def test_a_baked_single_style_network_paints_exactly_what_the_multi_style_one_does(multi_net, weights):
    single = multi_net.single_style(weights, name="baked")
    assert single.num_styles == 1 and single.name == "baked" and single.architecture == multi_net.architecture
    assert not any(isinstance(layer, ConditionalInstanceNormalization) for layer in single.layers)
    photos = _photos(17, 23, count=2)
    normalised = np.asarray(weights, np.float32) / np.sum(weights)
    np.testing.assert_allclose(np.asarray(single(photos)), _paint(multi_net, photos, normalised), atol=2e-6)


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1, 0], "3 non-negative numbers"),
        ([1, -1, 1], "non-negative"),
        ([0, 0, 0], "all be zero"),
        ([1, np.nan, 0], "non-negative numbers"),
    ],
)
def test_bad_style_weights_for_baking(multi_net, weights, message):
    with pytest.raises(ConfigError, match=message):
        multi_net.single_style(weights)


def test_a_one_style_network_cannot_be_baked_and_num_styles_is_checked():
    with pytest.raises(ConfigError, match="one style already"):
        TransformNet(width=0.125, num_residual_blocks=0).single_style([1.0])
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="num_styles"):
            TransformNet(width=0.125, num_residual_blocks=0, num_styles=bad)


def _restyled(net, weights, seed):
    """`net` baked with `weights`, then only its normalisations changed (as --trainable=norms trains)."""
    single = net.single_style(weights, name="restyled")
    rng = np.random.default_rng(seed)
    for layer in single.layers:
        if isinstance(layer, InstanceNormalization):
            gamma, beta = layer.get_weights()
            layer.set_weights([gamma * rng.uniform(0.5, 1.5, gamma.shape), beta + rng.normal(0.0, 0.5, beta.shape)])
    return single


def test_with_style_replaces_a_styles_row_and_keeps_the_others(multi_net):
    restyled = _restyled(multi_net, [0, 1, 0], seed=5)
    combined = multi_net.with_style("b", restyled)
    assert combined.num_styles == NUM_STYLES and combined.style_names == ("a", "b", "c")
    photos = _photos(18, 22, count=2)
    np.testing.assert_allclose(_paint(combined, photos, [0, 1, 0]), np.asarray(restyled(photos)), atol=2e-6)
    assert np.abs(_paint(combined, photos, [0, 1, 0]) - _paint(multi_net, photos, [0, 1, 0])).mean() > 0.01
    for other in ([1, 0, 0], [0, 0, 1]):
        np.testing.assert_array_equal(_paint(combined, photos, other), _paint(multi_net, photos, other))
    # Round trip: baking the new row gives back the one-style network's weights.
    for mine, theirs in zip(combined.single_style([0, 1, 0]).get_weights(), restyled.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_with_style_adds_a_new_name_as_the_last_style(multi_net):
    restyled = _restyled(multi_net, [1, 1, 1], seed=6)
    grown = multi_net.with_style("d", restyled)
    assert grown.num_styles == NUM_STYLES + 1 and grown.style_names == ("a", "b", "c", "d")
    photos = _photos(16, 16)
    four = lambda weights: np.asarray(grown({"image": photos, "style_weights": np.asarray([weights], np.float32)}))  # noqa: E731
    np.testing.assert_allclose(four([0, 0, 0, 1]), np.asarray(restyled(photos)), atol=2e-6)
    np.testing.assert_array_equal(four([1, 0, 0, 0]), _paint(multi_net, photos, [1, 0, 0]))
    # A blend of the new style with a shipped one lies between them.
    blend, first, new = four([0.5, 0, 0, 0.5]), four([1, 0, 0, 0]), four([0, 0, 0, 1])
    assert np.abs(blend - first).mean() < np.abs(new - first).mean()


def test_with_style_refuses_a_network_whose_convolutions_differ(multi_net):
    restyled = _restyled(multi_net, [0, 0, 1], seed=7)
    kernel = restyled.get_layer("output_conv")
    kernel.set_weights([weights + 1e-3 for weights in kernel.get_weights()])
    with pytest.raises(ConfigError, match="differs from this one in 'output_conv'.*--trainable=norms"):
        multi_net.with_style("c", restyled)
    other = TransformNet(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 2}, seed=3)
    with pytest.raises(ConfigError, match="not a one-style network of this architecture"):
        multi_net.with_style("c", other)
    with pytest.raises(ConfigError, match="not a one-style network"):
        multi_net.with_style("c", multi_net)
    with pytest.raises(ConfigError, match="paints one style"):
        restyled.with_style("c", restyled)
    with pytest.raises(ConfigError, match="distinct words"):
        multi_net.with_style("not a word", _restyled(multi_net, [0, 0, 1], seed=8))


@pytest.mark.parametrize("names", [["a", "b"], ["a", "a", "b"], ["a", "b", "not a word"], ["a", "b", 3]])
def test_style_names_must_be_one_distinct_word_per_style(names):
    with pytest.raises(ConfigError, match="style_names must be 3 distinct words"):
        TransformNet(width=0.125, num_residual_blocks=0, num_styles=3, style_names=names)


def test_keras_file_round_trip_keeps_the_styles(multi_net, tmp_path):
    path = str(tmp_path / "multi.keras")
    multi_net.save(path)
    loaded = saving.load_keras_model(path)
    assert isinstance(loaded, TransformNet) and loaded.num_styles == NUM_STYLES
    assert loaded.style_names == ("a", "b", "c")
    photos = _photos()
    np.testing.assert_array_equal(_paint(loaded, photos, [0, 0, 1]), _paint(multi_net, photos, [0, 0, 1]))


def test_converts_to_tflite_with_the_style_weights_input(multi_net):
    from tf_style.export import tflite
    from tf_style.inference import runners

    signature = multi_style_signature(NUM_STYLES)
    runner = runners.TFLiteRunner(tflite.convert_to_tflite(multi_net, "float32", signature=signature), num_threads=1)
    assert set(runner.inputs) == {"image", "style_weights"}
    photo = _photos(24, 19)[0]
    for weights in ([1, 0, 0], [0.25, 0.25, 0.5]):
        row = np.asarray([weights], np.float32)
        np.testing.assert_allclose(runner(photo, style_weights=row), _paint(multi_net, photo[None], row)[0], atol=1e-5)


def test_the_network_and_losses_run_on_the_jax_backend():
    """The layers and losses are keras.ops: Keras's JAX backend runs them (a subprocess, to choose the backend).

    scripts/train_on_jax.py trains with them: tests/scripts/test_train_on_jax.py.
    """
    pytest.importorskip("jax")
    code = (
        "import keras, numpy as np\n"
        "from tf_style.networks.johnson.transform_net import TransformNet\n"
        "from tf_style.losses.functional import gram_matrix, tv_loss\n"
        "net = TransformNet(width=0.125, num_residual_blocks=0, num_styles=2, seed=0)\n"
        "x = np.ones((1, 16, 16, 3), 'float32') * 0.5\n"
        "y = net({'image': x, 'style_weights': np.array([[1.0, 0.0]], 'float32')})\n"
        "print(keras.backend.backend(), y.shape, float(tv_loss(y)) >= 0, gram_matrix(y).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "jax"
