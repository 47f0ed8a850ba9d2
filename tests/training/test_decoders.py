"""Training universal style transfer's decoders on photos alone, with a tiny random encoder."""

import keras
import numpy as np
import pytest

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.io import images
from tf_style.networks.saving import float32_copy, load_keras_model, save_keras_model
from tf_style.training.decoders import DecoderTrainConfig, DecoderTraining

from conftest import make_photo

TINY = dict(backbone="vgg19", width=1.0, crop_size=32, batch_size=2, precision="float32", checkpoint_every=5)


def tiny_builder(layers, *args, **kwargs):
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)


@pytest.fixture
def photo_paths(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(3):
        images.save_image(make_photo(40, 48, seed=index), str(folder / f"photo{index}.png"))
    return sorted(str(path) for path in folder.iterdir())


def _training(paths, output_dir, **changes):
    config = DecoderTrainConfig(**{**TINY, **changes})
    return DecoderTraining(paths, config, str(output_dir), extractor_builder=tiny_builder)


def test_training_lowers_the_reconstruction_loss(photo_paths, tmp_path):
    training = _training(photo_paths, tmp_path / "run", level=1, num_steps=120, learning_rate=1e-2)
    losses = [progress.losses for progress in training.run()]
    assert set(losses[0]) == {"total_loss", "pixel_loss", "feature_loss"}
    first = np.mean([loss["pixel_loss"] for loss in losses[:5]])
    last = np.mean([loss["pixel_loss"] for loss in losses[-5:]])
    assert last < 0.6 * first  # A mid-grey start (the output layer starts at zero) is ~0.08.
    np.testing.assert_allclose(
        losses[-1]["total_loss"], 10.0 * losses[-1]["pixel_loss"] + losses[-1]["feature_loss"], rtol=1e-5
    )


def test_the_decoder_standardises_its_input_with_the_features_statistics(photo_paths, tmp_path):
    training = _training(photo_paths, tmp_path / "run", level=3, num_steps=1)
    config = training.decoder.get_layer("standardize").get_config()
    assert len(config["mean"]) == training.decoder.input_shape[-1] == 16  # relu3_1 of a 1/16-wide VGG.
    assert min(config["variance"]) > 0.0


def test_a_photorealistic_decoder_trains_on_the_pooled_activations_too(photo_paths, tmp_path):
    training = _training(photo_paths, tmp_path / "run", level=2, num_steps=3, unpooling=True)
    losses = [progress.losses for progress in training.run()]
    assert len(losses) == 3 and all(np.isfinite(loss["total_loss"]) for loss in losses)
    assert [tensor.shape[-1] for tensor in training.decoder.inputs] == [8, 4]  # relu2_1 and block1_conv2, 1/16 wide.
    assert "unpool_block1_pool" in [layer.name for layer in training.decoder.layers]


def test_a_stopped_run_resumes_from_its_checkpoint(photo_paths, tmp_path):
    whole = _training(photo_paths, tmp_path / "whole", level=1, num_steps=10)
    for _ in whole.run():
        pass
    interrupted = _training(photo_paths, tmp_path / "parts", level=1, num_steps=10)
    for progress in interrupted.run():
        if progress.step == 5:
            break
    resumed = _training(photo_paths, tmp_path / "parts", level=1, num_steps=10)
    assert resumed.resumed_step == 5
    for _ in resumed.run():
        pass
    for expected, actual in zip(whole.decoder.get_weights(), resumed.decoder.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_a_bfloat16_decoder_ships_as_float32_with_its_weights(photo_paths, tmp_path):
    training = _training(photo_paths, tmp_path / "run", level=2, num_steps=3, precision="bfloat16")
    for _ in training.run():
        pass
    shipped = float32_copy(training.decoder)
    path = str(tmp_path / "decoder.keras")
    save_keras_model(shipped, path)
    loaded = load_keras_model(path, input_channels=None)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    features = np.random.default_rng(0).random((1, 4, 4, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded(features), training.decoder(features), atol=0.05)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(level=6), "level must be one of"),
        (dict(crop_size=4, level=4), "crop_size"),
        (dict(pixel_weight=-1.0), "pixel_weight"),
        (dict(backbone="resnet"), "backbone"),
    ],
)
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        DecoderTrainConfig(**{**TINY, **changes})
