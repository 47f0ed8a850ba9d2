"""Applying a trained network: tiles with feathered seams, strength, colours, model files."""

import itertools
import os

import numpy as np
import pytest

from tf_style.color import transfer_luminance
from tf_style.errors import ConfigError, ModelError
from tf_style.export import tflite
from tf_style.inference import apply, registry, tiles
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, build_transform_net

from conftest import make_photo


def invert(image):
    return 1.0 - image


@pytest.mark.parametrize("length, tile, overlap", [(100, 40, 8), (64, 64, 16), (65, 64, 16), (1000, 256, 64)])
def test_tile_starts_cover_the_image_with_the_overlap(length, tile, overlap):
    starts = tiles.tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile >= length
    for left, right in itertools.pairwise(starts):
        assert left + tile - right >= overlap  # Neighbours share at least `overlap` pixels.


def test_tiled_run_of_a_pixelwise_function_is_exact():
    image = make_photo(150, 170)
    np.testing.assert_allclose(tiles.run_tiled(invert, image, tile_size=64, overlap=16), 1.0 - image, atol=1e-6)


def test_tiles_that_disagree_blend_without_seams():
    """Each tile brightened by a different amount: the result changes gradually, with no step."""
    image = np.full((96, 200, 3), 0.3, np.float32)
    offsets = iter(np.linspace(0.0, 0.4, 20))
    result = tiles.run_tiled(lambda tile: tile + next(offsets), image, tile_size=64, overlap=32)
    steps = np.abs(np.diff(result, axis=1)).max()
    assert steps < 0.4 / 32 * 2  # A hard seam would jump by a whole offset difference (about 0.1).
    assert np.abs(np.diff(result, axis=0)).max() < 0.4 / 32 * 2


def test_strength_blends_and_luminance_keeps_colours():
    photo = make_photo(32, 40)
    np.testing.assert_allclose(apply.apply_style(invert, photo, strength=0.0), photo, atol=1e-6)
    np.testing.assert_allclose(apply.apply_style(invert, photo, strength=1.0), 1.0 - photo, atol=1e-6)
    np.testing.assert_allclose(
        apply.apply_style(invert, photo, strength=0.25), 0.75 * photo + 0.25 * (1.0 - photo), atol=1e-6
    )
    np.testing.assert_allclose(
        apply.apply_style(invert, photo, preserve_colors="luminance"),
        np.clip(transfer_luminance(1.0 - photo, photo), 0, 1),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strength": 1.5}, "strength must be between 0 and 1"),
        ({"preserve_colors": "histogram"}, "preserve_colors must be one of"),
    ],
)
def test_apply_style_rejects_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        apply.apply_style(invert, make_photo(16, 16), **kwargs)
    with pytest.raises(ConfigError, match="needs at least 8 pixels"):
        apply.apply_style(invert, make_photo(5, 16))


def test_keras_and_tflite_model_files_give_the_same_picture(tmp_path):
    net = build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1})
    saving.save_keras_model(net, str(tmp_path / "style.keras"))
    (tmp_path / "style.tflite").write_bytes(tflite.convert_to_tflite(net, "float32"))
    photo = make_photo(40, 52)
    from_keras = apply.load_style_model(str(tmp_path / "style.keras"))(photo)
    from_tflite = apply.load_style_model(str(tmp_path / "style.tflite"), num_threads=1)(photo)
    assert from_keras.shape == photo.shape
    np.testing.assert_allclose(from_tflite, from_keras, atol=1e-4)
    with pytest.raises(ModelError, match="must be a .keras or .tflite file"):
        apply.load_style_model(str(tmp_path / "style.onnx"))


def test_resolve_model_path_keeps_paths_and_names_shipped_styles():
    assert registry.resolve_model_path("my/model.tflite") == "my/model.tflite"
    for resolve in (registry.resolve_model_path, apply.load_style_model):
        with pytest.raises(ModelError, match="'no_such_style' is neither a model file nor a shipped style"):
            resolve("no_such_style")
    with pytest.raises(ModelError, match="unknown model variant 'fp8'"):
        registry.resolve_model_path("starry_night", "fp8")
    for style in registry.shipped_styles():
        for variant, ending in (("fp16", "_fp16.tflite"), ("int8", "_int8.tflite"), ("keras", ".keras")):
            path = registry.resolve_model_path(style, variant)
            assert path.endswith(style + ending) and os.path.isfile(path)


@pytest.mark.parametrize("variant", registry.MODEL_VARIANTS)
def test_a_shipped_style_loads_by_its_name(variant):
    import tf_style

    paint = tf_style.load_style_model("starry_night", variant=variant)
    photo = make_photo(24, 32)
    picture = paint(photo)
    assert picture.shape == (24, 32, 3) and picture.dtype == np.float32
    assert np.abs(picture - photo).mean() > 0.05  # It paints.
