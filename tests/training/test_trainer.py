"""The training loop on a network family it was not written for: a tiny autoencoder."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_style.errors import ModelError
from tf_style.io import images
from tf_style.training.config import TrainConfig
from tf_style.training.trainer import Trainer

from conftest import make_photo

SCHEDULE = TrainConfig(
    crop_size=32, batch_size=2, num_steps=6, learning_rate=1e-2, checkpoint_every=3, log_every=1, sample_every=3
)


class Reconstruction(Trainer):
    """Learns to give back its input, as the universal network's decoders will."""

    width = 4

    def build_network(self):
        image = keras.Input((None, None, 3), name="image")
        hidden = keras.layers.Conv2D(
            self.width,
            3,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=1),
        )(image)
        output = keras.layers.Conv2D(
            3, 1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed=2)
        )(hidden)
        return keras.Model(image, output)

    def compute_losses(self, images):
        reconstruction = tf.reduce_mean(tf.square(self.network(images, training=True) - images))
        return {"total_loss": reconstruction, "reconstruction_loss": reconstruction}


class Wider(Reconstruction):
    width = 8


@pytest.fixture
def photo_paths(tmp_path):
    paths = []
    for index in range(3):
        paths.append(str(tmp_path / f"photo{index}.png"))
        images.save_image(make_photo(40, 48, seed=index), paths[-1])
    return paths


def test_any_network_trains_checkpoints_and_logs(photo_paths, tmp_path):
    run = Reconstruction(photo_paths, SCHEDULE, str(tmp_path / "run"))
    progress = list(run.run())
    assert [p.step for p in progress] == [1, 2, 3, 4, 5, 6]
    assert set(progress[0].losses) == {"total_loss", "reconstruction_loss"}
    assert progress[-1].losses["total_loss"] < progress[0].losses["total_loss"]
    assert sorted(os.listdir(tmp_path / "run" / "checkpoints")) == [
        "checkpoint",
        "ckpt-3.data-00000-of-00001",
        "ckpt-3.index",
        "ckpt-6.data-00000-of-00001",
        "ckpt-6.index",
    ]
    assert os.listdir(tmp_path / "run" / "logs")  # TensorBoard events.


def test_an_interrupted_run_resumes_exactly(photo_paths, tmp_path):
    whole = Reconstruction(photo_paths, SCHEDULE, str(tmp_path / "whole"))
    for _ in whole.run():
        pass
    first = Reconstruction(photo_paths, SCHEDULE, str(tmp_path / "parts"))
    for progress in first.run():
        if progress.step == 3:
            break
    second = Reconstruction(photo_paths, SCHEDULE, str(tmp_path / "parts"))
    assert second.resumed_step == 3
    for _ in second.run():
        pass
    for resumed, straight in zip(second.network.get_weights(), whole.network.get_weights()):
        np.testing.assert_array_equal(resumed, straight)


def test_a_checkpoint_of_another_network_is_refused(photo_paths, tmp_path):
    for _ in Reconstruction(photo_paths, SCHEDULE.replace(num_steps=1), str(tmp_path / "run")).run():
        pass
    with pytest.raises(ModelError, match="does not fit this network"):
        Wider(photo_paths, SCHEDULE, str(tmp_path / "run"))
