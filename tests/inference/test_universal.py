"""Painting like any painting: the universal model's folder, the painting style function, apply_style with it."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError, ModelError
from tf_style.inference.apply import apply_style
from tf_style.inference.universal import load_painting_style, load_universal_model
from tf_style.networks.saving import save_keras_model
from tf_style.networks.universal.decoder import build_decoder

from conftest import make_painting, make_photo, tiny_decoder

TINY_WIDTH = 1 / 16


def tiny_builder(layers, *args, **kwargs):
    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=TINY_WIDTH)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A universal model folder as package_universal.py writes it, with tiny random decoders."""
    folder = tmp_path_factory.mktemp("universal")
    files = {}
    for level in (2, 1):
        files[str(level)] = f"decoder_relu{level}_1.keras"
        save_keras_model(tiny_decoder(level), str(folder / files[str(level)]))
    save_keras_model(tiny_decoder(2, unpooling=True), str(folder / "photo_decoder_relu2_1.keras"))
    photo_files = {"2": "photo_decoder_relu2_1.keras", "1": files["1"]}
    card = {"backbone": "vgg19", "decoders": files, "photorealistic_decoders": photo_files}
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="module")
def model(model_folder):
    return load_universal_model(str(model_folder), extractor_builder=tiny_builder)


def test_the_model_folder_gives_its_decoders_coarse_to_fine(model):
    assert model.levels == [2, 1]
    assert model.backbone == "vgg19"


def test_a_painting_style_paints_photos_of_any_size_through_apply_style(model):
    paint = load_painting_style([make_painting(40, 60)], model=model, style_size=48)
    for shape in [(20, 30), (33, 17)]:
        picture = apply_style(paint, make_photo(*shape))
        assert picture.shape == (*shape, 3)
        assert picture.min() >= 0.0 and picture.max() <= 1.0


def test_large_photos_are_painted_in_tiles_of_the_same_painting(model):
    paint = load_painting_style([make_painting(40, 60)], model=model, style_size=48)
    photo = make_photo(80, 96)
    tiled = apply_style(paint, photo, tile_size=48, overlap=16)
    assert tiled.shape == photo.shape
    assert np.all(np.isfinite(tiled))


def test_preserve_colors_keeps_the_photos_chroma_and_paints_the_luminance(model):
    from tf_style.color import _RGB_TO_YIQ

    paint = load_painting_style([make_painting(40, 60)], model=model, style_size=48)
    photo = make_photo(32, 40)
    painted = apply_style(paint, photo)
    kept = apply_style(paint, photo, preserve_colors="luminance")
    photo_yiq, painted_yiq, kept_yiq = (image @ _RGB_TO_YIQ.T for image in (photo, painted, kept))
    unclipped = np.all((kept > 0.01) & (kept < 0.99), axis=-1)
    assert unclipped.mean() > 0.5
    np.testing.assert_allclose(kept_yiq[unclipped][:, 1:], photo_yiq[unclipped][:, 1:], atol=2e-3)
    np.testing.assert_allclose(kept_yiq[unclipped][:, 0], painted_yiq[unclipped][:, 0], atol=2e-3)
    assert np.abs(painted_yiq[..., 1:] - photo_yiq[..., 1:]).mean() > 0.01  # The painting did change them.


def test_two_paintings_blend_and_a_zero_weight_drops_one(model):
    first, second = make_painting(40, 40, seed=1), make_painting(40, 40, seed=3)[..., ::-1].copy()
    photo = make_photo(24, 24)
    alone = load_painting_style([first], model=model, style_size=32)(photo)
    with_zero = load_painting_style([first, second], [1.0, 0.0], model=model, style_size=32)(photo)
    blended = load_painting_style([first, second], [0.5, 0.5], model=model, style_size=32)(photo)
    np.testing.assert_allclose(with_zero, alone, atol=1e-5)
    assert np.abs(blended - alone).mean() > 1e-4


@pytest.mark.parametrize(
    "paintings, changes, message",
    [
        ([], {}, "at least one painting"),
        ([np.zeros((8, 40, 3), np.float32)], {}, "40x8; a painting needs at least 16"),
        ([make_painting(32, 32)], {"blend": [1.0, 2.0]}, "2 blend weights for 1 paintings"),
        ([make_painting(32, 32)], {"style_strength": -0.5}, "style_strength"),
        ([make_painting(32, 32)], {"transform": "gram"}, "unknown transform"),
        ([make_painting(32, 32)], {"style_size": 4}, "style_size"),
        ([make_painting(32, 32)], {"layout_strength": 2.0}, "layout_strength"),
        ([make_painting(32, 32)], {"variant": "int8", "transform": "adain"}, "the TFLite files paint with wct"),
        ([make_painting(32, 32)], {"variant": "int4"}, "unknown variant"),
    ],
)
def test_bad_paintings_and_settings_get_one_clear_error(model, paintings, changes, message):
    with pytest.raises(ConfigError, match=message):
        load_painting_style(paintings, model=model, **changes)


def test_the_photorealistic_decoders_load_from_the_same_folder_and_keep_the_photo_a_photo(model_folder):
    photorealistic = load_universal_model(str(model_folder), extractor_builder=tiny_builder, photorealistic=True)
    assert photorealistic.photorealistic and photorealistic.levels == [2, 1]
    look = make_photo(40, 40, seed=5)[..., ::-1].copy()
    paint = load_painting_style([look], model=photorealistic, photorealistic=True, style_size=40)
    photo = make_photo(30, 44)
    picture = apply_style(paint, photo)
    assert picture.shape == photo.shape
    with pytest.raises(ConfigError, match="needs a model with unpooling decoders"):
        load_painting_style([look], model=load_universal_model(str(model_folder), tiny_builder), photorealistic=True)


def test_a_card_without_photorealistic_decoders_says_so(tmp_path):
    save_keras_model(tiny_decoder(1), str(tmp_path / "d1.keras"))
    (tmp_path / "model_card.json").write_text('{"backbone": "vgg19", "decoders": {"1": "d1.keras"}}')
    with pytest.raises(ModelError, match="has no photorealistic decoders"):
        load_universal_model(str(tmp_path), extractor_builder=tiny_builder, photorealistic=True)
    # Painting decoders listed as photorealistic ones are refused too.
    (tmp_path / "model_card.json").write_text(
        '{"backbone": "vgg19", "decoders": {"1": "d1.keras"}, "photorealistic_decoders": {"2": "d2.keras"}}'
    )
    save_keras_model(tiny_decoder(2), str(tmp_path / "d2.keras"))
    with pytest.raises(ModelError, match="are not photorealistic"):
        load_universal_model(str(tmp_path), extractor_builder=tiny_builder, photorealistic=True)


def test_a_folder_without_a_readable_card_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no readable universal model card"):
        load_universal_model(str(tmp_path))
    (tmp_path / "model_card.json").write_text('{"backbone": "vgg19", "decoders": {"1": "missing.keras"}}')
    with pytest.raises(ModelError, match="missing.keras"):
        load_universal_model(str(tmp_path), extractor_builder=tiny_builder)


def test_a_decoder_for_another_encoder_is_refused(model_folder, tmp_path):
    save_keras_model(build_decoder(1, 1.0, "vgg19"), str(tmp_path / "wide.keras"))  # Full-width: 64 channels in.
    (tmp_path / "model_card.json").write_text('{"backbone": "vgg19", "decoders": {"1": "wide.keras"}}')
    with pytest.raises(ModelError, match="decodes 64 channels; relu1_1 has 4"):
        load_universal_model(str(tmp_path), extractor_builder=tiny_builder)


def test_the_shipped_universal_model_has_its_files_and_passed_parity():
    from tf_style.export.parity import PARITY_MIN_PSNR
    from tf_style.export.tflite import Quantization
    from tf_style.inference.universal import tflite_files, universal_model_dir

    folder = Path(universal_model_dir())
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    assert card["backbone"] == "vgg16_hed" and card["alignment"] == 2 ** (max(map(int, card["decoders"])) - 1)
    for name in card["decoders"].values():
        assert (folder / name).stat().st_size > 1000, name
    for variant, quantization in (("fp16", Quantization.FLOAT16), ("int8", Quantization.DYNAMIC_INT8)):
        for path in tflite_files(variant):
            assert Path(path).read_bytes()[4:8] == b"TFL3", path
        report = card["tflite"][variant]
        assert report["transfer"]["parity"]["min_psnr_db"] >= PARITY_MIN_PSNR[quantization]
        errors = report["style_encoder"]["parity"]["max_relative_error"]
        assert max(errors.values()) <= report["style_encoder"]["parity"]["max_relative_error_allowed"]
    assert card["photorealistic_alignment"] == 2 ** (max(map(int, card["photorealistic_decoders"])) - 1)
    for variant, quantization in (("fp16", Quantization.FLOAT16), ("int8", Quantization.DYNAMIC_INT8)):
        assert Path(tflite_files(variant, photorealistic=True)[1]).read_bytes()[4:8] == b"TFL3"
        report = card["tflite"][variant]["transfer_photorealistic"]
        assert report["parity"]["min_psnr_db"] >= PARITY_MIN_PSNR[quantization]
    photorealistic = card["photorealistic_decoders"]
    assert "1" in photorealistic and set(photorealistic) <= set(card["decoders"])
    for level, name in photorealistic.items():
        assert (folder / name).stat().st_size > 1000, name
        assert (name == card["decoders"][level]) == (level == "1")  # relu1_1 has no pooling to undo.


def test_the_shipped_fast_model_has_its_encoder_one_level_and_passed_parity():
    from tf_style.export.parity import PARITY_MIN_PSNR
    from tf_style.export.tflite import Quantization
    from tf_style.inference.universal import FAST_UNIVERSAL_MODEL, tflite_files, universal_model_dir

    folder = Path(universal_model_dir(FAST_UNIVERSAL_MODEL))
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    assert card["backbone"] == "vgg16_hed" and 0.0 < card["encoder_width"] < 1.0
    assert len(card["decoders"]) == 1 and "photorealistic_decoders" not in card
    for name in [card["encoder"], *card["decoders"].values()]:
        assert (folder / name).stat().st_size > 1000, name
    for variant, quantization in (("fp16", Quantization.FLOAT16), ("int8", Quantization.DYNAMIC_INT8)):
        for path in tflite_files(variant, str(folder)):
            assert Path(path).read_bytes()[4:8] == b"TFL3", path
        report = card["tflite"][variant]
        assert report["transfer"]["parity"]["min_psnr_db"] >= PARITY_MIN_PSNR[quantization]
    from tf_style.backbones.vgg import BLOCK_WIDTHS

    model = load_universal_model(str(folder))  # The distilled encoder, not the backbone's weights.
    level = int(next(iter(card["decoders"])))
    assert model.channels(level) == round(BLOCK_WIDTHS[level - 1] * card["encoder_width"])
