"""Applying a trained network: tiles with feathered seams, strength, colours, model files."""

import itertools
import os

import numpy as np
import pytest

from tf_style import tiling
from tf_style.color import transfer_luminance
from tf_style.errors import ConfigError, ModelError
from tf_style.export import tflite
from tf_style.inference import apply, registry, tiles
from tf_style.inference.runners import KerasRunner
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, build_transform_net

from conftest import make_photo


def invert(image):
    return 1.0 - image


@pytest.mark.parametrize("length, tile, overlap", [(100, 40, 8), (64, 64, 16), (65, 64, 16), (1000, 256, 64)])
def test_tile_starts_cover_the_image_with_the_overlap(length, tile, overlap):
    starts = tiling.tile_starts(length, tile, overlap)
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


# Large images and misbehaving models ------------------------------------------------------------


def brighten_each_tile():
    """A style function whose every call adds a little more, so tiles disagree and must be feathered."""
    offsets = itertools.count()
    return lambda tile: np.clip(tile + 0.01 * next(offsets), 0.0, 1.0)


def test_rows_of_tiles_give_the_same_picture_as_the_whole_image_at_once():
    photo = make_photo(300, 230)
    bands = list(tiles.paint_bands(brighten_each_tile(), photo, tile_size=64, overlap=16))
    assert bands[0][0] == 0 and bands[-1][1] == 300
    assert all(end == start for (_, end, _), (start, _, _) in itertools.pairwise(bands))  # In order, no gap.
    whole = tiles.run_tiled(brighten_each_tile(), photo, tile_size=64, overlap=16)
    np.testing.assert_array_equal(np.concatenate([painted for _, _, painted in bands]), whole)


def test_a_photo_of_bytes_gives_a_picture_of_bytes():
    photo = (make_photo(90, 120) * 255 + 0.5).astype(np.uint8)
    as_bytes = apply.apply_style(invert, photo, strength=0.6, preserve_colors="luminance", tile_size=48, overlap=8)
    as_floats = apply.apply_style(
        invert, photo / np.float32(255), strength=0.6, preserve_colors="luminance", tile_size=48, overlap=8
    )
    assert as_bytes.dtype == np.uint8 and as_bytes.shape == (90, 120, 3)
    assert np.abs(as_bytes.astype(int) - (as_floats * 255 + 0.5).astype(np.uint8)).max() <= 1


def test_memory_follows_a_row_of_tiles_not_the_image():
    """A 4-megapixel photo in bytes: with 256-pixel tiles Python allocates a fraction of what it does whole."""
    import tracemalloc

    photo = np.zeros((2000, 2000, 3), np.uint8)
    peaks = {}
    for tile_size in (256, None):
        tracemalloc.start()
        try:
            picture = apply.apply_style(invert, photo, preserve_colors="luminance", tile_size=tile_size, overlap=32)
            peaks[tile_size] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert picture.shape == photo.shape and picture.dtype == np.uint8
        del picture
    # In tiles: the picture (12 MB), a row of tiles and its colour work (256 x 2000 pixels, a few MB each).
    assert peaks[256] < 80 * 2**20, f"{peaks[256] / 2**20:.0f} MB traced"
    assert peaks[None] > 3 * peaks[256], peaks


class _Runner:
    """A stand-in for a loaded model that misbehaves in one way."""

    def __init__(self, output):
        self.output = output

    def __call__(self, batch, training=False):
        return self.output(batch)


@pytest.mark.parametrize(
    "output, message",
    [
        (lambda batch: np.full(batch.shape, np.nan, np.float32), "NaN or infinite values"),
        (lambda batch: np.zeros((1, 16, 16, 3), np.float32), "output of shape \\[1, 16, 16, 3\\]"),
    ],
)
def test_a_keras_model_that_misbehaves_is_a_model_error(output, message):
    import keras

    image = keras.Input((None, None, 3), name="image")
    runner = KerasRunner(keras.Model(image, keras.layers.Identity()(image)))
    runner.model = _Runner(output)  # The checks are the runner's, whatever the model computes.
    with pytest.raises(ModelError, match=message):
        runner(make_photo(24, 32))
    with pytest.raises(ModelError, match=message):  # And apply_style lets them through as they are.
        apply.apply_style(runner, make_photo(24, 32))


def test_a_model_of_a_fixed_size_is_refused_when_loaded(tmp_path):
    import keras
    import tensorflow as tf

    image = keras.Input((32, 32, 3), name="image")
    fixed = keras.Model(image, keras.layers.Conv2D(3, 1, activation="sigmoid")(image))
    # Converted as it is (the project's export would give it any size).
    (tmp_path / "fixed.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(fixed).convert())
    saving.save_keras_model(fixed, str(tmp_path / "fixed.keras"))
    for name, kind in (("fixed.tflite", "TFLite"), ("fixed.keras", "Keras")):
        with pytest.raises(ModelError, match=f"the {kind} model takes images of a fixed size"):
            apply.load_style_model(str(tmp_path / name))


def test_a_model_whose_output_is_nan_is_refused_when_loaded(tmp_path):
    import keras

    image = keras.Input((None, None, 3), name="image")
    nan = keras.Model(image, keras.layers.Lambda(lambda x: x * float("nan"))(image))
    (tmp_path / "nan.tflite").write_bytes(tflite.convert_to_tflite(nan, "float32"))
    with pytest.raises(ModelError, match="nan.tflite: the model's output has NaN or infinite values"):
        apply.load_style_model(str(tmp_path / "nan.tflite"))


@pytest.mark.parametrize("num_threads", [0, 100_000])
def test_thread_counts_out_of_range_are_refused(num_threads):
    with pytest.raises(ConfigError, match="num_threads must be a whole number from 1 to 256"):
        apply.load_style_model("starry_night", num_threads=num_threads)
