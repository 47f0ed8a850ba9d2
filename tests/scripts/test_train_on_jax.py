"""scripts/train_on_jax.py: the library's network and objective trained on Keras's JAX backend."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tf_style.backbones import vgg
from tf_style.backbones.weights import PretrainedWeights, save_kernel_archive
from tf_style.io import images
from tf_style.networks.johnson.transform_net import TransformNet

from conftest import REPOSITORY, make_painting, make_photo

pytest.importorskip("jax")
pytest.importorskip("optax")


def _random_archive(path):
    """Random VGG16 kernels, of the real shapes, up to block3_conv3 (what the script's layers need)."""
    rng = np.random.default_rng(0)
    kernels, channels = {}, 3
    for name in vgg.layer_names(vgg.ARCHITECTURE["vgg16_hed"]):
        if not name.startswith("block") or "conv" not in name:
            continue
        filters = {"block1": 64, "block2": 128, "block3": 256}.get(name[:6])
        if filters is None:
            break
        kernels[name] = [rng.normal(0, np.sqrt(2 / (9 * channels)), (3, 3, channels, filters)), np.zeros(filters)]
        channels = filters
    save_kernel_archive(PretrainedWeights(kernels, "random", "test"), str(path), dtype="float32")


def test_trains_a_two_style_network_whose_weights_load_into_tensorflow(tmp_path):
    _random_archive(tmp_path / "backbone.npz")
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        images.save_image(make_photo(48, 64, seed=index), str(photos / f"{index}.png"))
    paintings = [str(tmp_path / f"painting{index}.png") for index in range(2)]
    for index, path in enumerate(paintings):
        images.save_image(make_painting(40, 40, seed=index), path)
    output = tmp_path / "net.weights.h5"
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "scripts", "train_on_jax.py"),
         f"--backbone_weights={tmp_path / 'backbone.npz'}", f"--style_images={','.join(paintings)}",
         f"--train_images={photos}", f"--output={output}", "--minutes=0.05", "--batch_size=2",
         "--crop_sizes=32", "--style_size=32", "--width=0.125", "--num_residual_blocks=1",
         "--content_layers=block2_conv2", "--style_layers=block1_conv1,block2_conv1,block3_conv1"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    log = json.loads((tmp_path / "net.log.json").read_text())
    assert log["steps"] >= 1 and log["settings"]["num_styles"] == 2 and log["train_photos"] == 3
    assert log["loss"]["content_layers"] == ["block2_conv2"] and log["device"].startswith(("cpu", "TFRT_CPU"))
    network = TransformNet(**log["settings"])  # The TensorFlow network takes the JAX-trained weights.
    network.load_weights(str(output))
    fresh = TransformNet(**log["settings"], seed=0)
    assert any(not np.array_equal(a, b) for a, b in zip(network.get_weights(), fresh.get_weights()))
    picture = np.asarray(network({"image": make_photo(16, 24)[None], "style_weights": np.array([[1.0, 0.0]])}))
    assert picture.shape == (1, 16, 24, 3) and np.isfinite(picture).all()


def test_refuses_to_run_on_the_tensorflow_backend(tmp_path):
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "scripts", "train_on_jax.py"), f"--output={tmp_path / 'x.h5'}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert completed.returncode != 0 and "run with KERAS_BACKEND=jax" in completed.stderr
