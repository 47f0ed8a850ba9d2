"""The fast universal model's training: a small encoder distilled from a (tiny random) VGG, with its decoder."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.inference.universal import load_painting_style, load_universal_model
from tf_style.io import images
from tf_style.networks.saving import float32_copy, load_keras_model, save_keras_model
from tf_style.networks.universal.model import distilled_extractor_builder
from tf_style.training.distillation import DistillationConfig, EncoderDistillation

from conftest import make_painting, make_photo

TEACHER_WIDTH = 1 / 8  # The teacher: 8 channels at relu1_1, 32 at relu3_1.
TINY = dict(
    backbone="vgg19",
    encoder_width=1 / 16,  # The student: half the teacher's widths.
    crop_size=32,
    batch_size=2,
    precision="float32",
    checkpoint_every=5,
)


def teacher_builder(layers, *args, **kwargs):
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=TEACHER_WIDTH)


@pytest.fixture(scope="module")
def photo_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for index in range(3):
        images.save_image(make_photo(40, 48, seed=index), str(folder / f"photo{index}.png"))
    return sorted(str(path) for path in folder.iterdir())


@pytest.fixture(scope="module")
def trained(photo_paths, tmp_path_factory):
    """A level-2 student trained 120 steps, and the losses of every step."""
    config = DistillationConfig(**{**TINY, "level": 2, "num_steps": 120, "learning_rate": 3e-3})
    training = EncoderDistillation(
        photo_paths, config, str(tmp_path_factory.mktemp("run")), extractor_builder=teacher_builder
    )
    return training, [progress.losses for progress in training.run()]


def test_training_brings_the_embedded_features_to_the_teachers_and_reconstructs(trained):
    _, losses = trained
    assert set(losses[0]) == {"total_loss", "embedding_loss", "pixel_loss", "feature_loss"}
    for name in ("embedding_loss", "pixel_loss", "feature_loss"):
        first = np.mean([loss[name] for loss in losses[:5]])
        last = np.mean([loss[name] for loss in losses[-5:]])
        assert last < 0.7 * first, name
    last = losses[-1]
    np.testing.assert_allclose(
        last["total_loss"], last["embedding_loss"] + 10.0 * last["pixel_loss"] + last["feature_loss"], rtol=1e-5
    )


def test_the_encoder_is_a_narrow_vgg_with_the_vggs_layer_names(trained):
    training, _ = trained
    encoder = training.encoder
    assert [layer.name for layer in encoder.layers if layer.weights] == [
        "block1_conv1",
        "block1_conv2",
        "block2_conv1",
    ]
    assert encoder.output.shape[-1] == 8  # relu2_1 at 1/16 of the VGG's 128.
    assert training.decoder.input.shape[-1] == 8


def test_the_builder_serves_the_encoder_as_a_feature_extractor_with_its_weights(trained):
    training, _ = trained
    build = distilled_extractor_builder(float32_copy(training.encoder))
    assert build.width == pytest.approx(1 / 16)
    extractor = build(["block2_conv1", "block1_conv1"], "vgg19", pooling="max")
    photo = tf.constant(make_photo(32, 32)[None])
    expected = training.encoder(extractor.preprocessing(photo))
    np.testing.assert_allclose(extractor(photo)["block2_conv1"], expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="the distilled encoder stops before block2_conv2"):
        build(["block3_conv1"], "vgg19", pooling="max")


def test_a_model_folder_with_a_distilled_encoder_paints(trained, tmp_path):
    training, _ = trained
    save_keras_model(float32_copy(training.encoder), str(tmp_path / "encoder_relu2_1.keras"))
    save_keras_model(float32_copy(training.decoder), str(tmp_path / "decoder_relu2_1.keras"))
    card = {"backbone": "vgg19", "decoders": {"2": "decoder_relu2_1.keras"}, "encoder": "encoder_relu2_1.keras"}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    model = load_universal_model(str(tmp_path))
    assert model.levels == [2] and model.channels(2) == 8
    paint = load_painting_style([make_painting()], folder=str(tmp_path), layout_strength=0.0)
    photo = make_photo(36, 44)
    picture = paint(photo)
    assert picture.shape == photo.shape and picture.min() >= 0.0 and picture.max() <= 1.0
    # At strength 0 the transfer is the reconstruction: the trained pair gives the photo back, roughly.
    again = load_painting_style([make_painting()], folder=str(tmp_path), layout_strength=0.0, style_strength=0.0)
    assert np.mean(np.abs(again(photo) - photo)) < np.mean(np.abs(picture - photo))


def test_an_encoder_file_that_is_a_decoder_is_refused(trained, tmp_path):
    from tf_style.errors import ModelError

    training, _ = trained
    save_keras_model(float32_copy(training.decoder), str(tmp_path / "decoder.keras"))
    with pytest.raises(ModelError, match="not an encoder"):
        load_keras_model(str(tmp_path / "decoder.keras"), output_channels=None)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"encoder_width": 0.0}, "encoder_width must be in"),
        ({"decoder_width": 1.5}, "decoder_width must be in"),
        ({"level": 6}, "level must be one of"),
        ({"embedding_weight": -1.0}, "embedding_weight"),
    ],
)
def test_bad_settings_are_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        DistillationConfig(**changes)
