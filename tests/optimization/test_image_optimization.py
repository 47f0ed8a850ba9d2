"""Image optimisation on a tiny random VGG19-shaped extractor (fast, no download)."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_style import color, tiling
from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.io import images
from tf_style.losses import functional as losses_lib
from tf_style.optimization.config import StylizeConfig
from tf_style.optimization.image_optimization import ImageOptimization, stylize, tile_gram_targets

from conftest import ALL_LAYERS, make_painting, make_photo

# Tiny pictures optimised at their own size (the working size would make them 384 pixels).
FAST = StylizeConfig(max_size=48, num_steps=10, min_working_size=0)


def _run(photo, painting, extractor, **changes):
    optimization = ImageOptimization(photo, [painting], FAST.replace(**changes), extractor)
    progress = list(optimization.run())
    return optimization, progress, optimization.result()


@pytest.mark.parametrize("optimizer, lbfgs_scaling", [("lbfgs", "diagonal"), ("lbfgs", "scalar"), ("adam", "diagonal")])
def test_loss_falls_and_step_traces_once(photo, painting, tiny_extractor, optimizer, lbfgs_scaling):
    optimization, progress, result = _run(
        photo, painting, tiny_extractor, optimizer=optimizer, lbfgs_scaling=lbfgs_scaling, num_steps=15
    )
    totals = [p.losses["total_loss"] for p in progress]
    assert totals[-1] < 0.6 * totals[0]
    assert result.losses["total_loss"] <= min(totals) + 1e-6
    assert optimization.step_function.tracing_count() == 1  # 15 steps, one trace.
    assert result.stop_reason == "completed" and result.steps == 15
    assert result.image.shape == (36, 48, 3) and result.image.dtype == np.float32
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert set(progress[0].losses) >= {
        "total_loss",
        "content_loss",
        "style_loss",
        "tv_loss",
        "style_loss/block1_conv1",
        "style_loss/block5_conv1",
    }


def test_multiscale_traces_once_per_size_and_warm_starts(photo, painting, tiny_extractor):
    optimization = ImageOptimization(
        make_photo(128, 160), [painting], FAST.replace(max_size=160, scales=3, num_steps=4), tiny_extractor
    )
    traces, first_losses = {}, {}
    for progress in optimization.run():
        traces[progress.image_size] = optimization.step_function.tracing_count()
        first_losses.setdefault(progress.image_size, progress.losses["content_loss"])
    assert traces == {(32, 40): 1, (64, 80): 1, (128, 160): 1}
    # Warm start: each finer scale begins from the stylised coarse picture, not from the photo.
    assert first_losses[(64, 80)] > 1e-3 and first_losses[(128, 160)] > 1e-3
    result = optimization.result()
    assert result.scale_sizes == [(32, 40), (64, 80), (128, 160)] and result.steps == 12


def test_a_stalled_bfloat16_run_goes_on_in_float32(photo, painting):
    keras.utils.set_random_seed(0)
    mixed = build_feature_extractor(ALL_LAYERS, "vgg19", weights=None, width=1 / 16, precision="bfloat16")
    optimization = ImageOptimization(photo, [painting], FAST.replace(max_size=64, num_steps=200), mixed)
    totals = [progress.losses["total_loss"] for progress in optimization.run()]
    result = optimization.result()
    # In bfloat16 the line search stalls once a step gains less than the rounding hides
    # (after about 95 steps here); the run then continues in float32 and keeps improving.
    switch = result.float32_from_step
    assert result.precision == "bfloat16" and switch is not None and 20 < switch < 180
    assert optimization.extractor.precision == "float32" and mixed.precision == "bfloat16"
    assert totals[-1] < 0.99 * totals[switch - 1]
    assert result.losses["total_loss"] == pytest.approx(min(totals[switch - 1 :]))
    assert result.steps == 200 and result.stop_reason == "completed"


def test_float32_runs_never_switch(photo, painting, tiny_extractor):
    result = _run(photo, painting, tiny_extractor)[2]
    assert result.precision == "float32" and result.float32_from_step is None


def test_scales_too_small_for_the_network_are_dropped(photo, painting, tiny_extractor):
    optimization = ImageOptimization(photo, [painting], FAST.replace(scales=4), tiny_extractor)
    assert optimization.scale_sizes == [(36, 48)]  # 18 x 24 would be below 2 x 16 pixels.


def test_same_seed_same_picture_and_other_seed_differs(photo, painting, tiny_extractor):
    first = _run(photo, painting, tiny_extractor, init="noise", seed=5)[2].image
    again = _run(photo, painting, tiny_extractor, init="noise", seed=5)[2].image
    other = _run(photo, painting, tiny_extractor, init="noise", seed=6)[2].image
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 0.01


@pytest.mark.parametrize("init", ["recolored_content", "content", "style", "noise", "path"])
def test_init_kinds(photo, painting, tiny_extractor, tmp_path, init):
    if init == "path":
        init = str(tmp_path / "start.png")
        images.save_image(np.full((10, 10, 3), 0.25), init)
    optimization = ImageOptimization(photo, [painting], FAST.replace(init=init, num_steps=1), tiny_extractor)
    first = next(iter(optimization.run()))
    assert first.step == 1
    if init == "content":
        np.testing.assert_array_equal(optimization._initial_image(photo.shape[:2], photo), photo)
        # One step away from the photo: its first step moves some pixel by one 8-bit level.
        assert first.losses["content_loss"] < 0.005
    else:
        assert first.losses["content_loss"] > 0.01


def test_recolored_content_init_has_the_paintings_colours(photo, painting, tiny_extractor):
    """The starting picture is the photo, recoloured to the (blended) paintings' colour mean and covariance."""
    # Paintings of moderate contrast, so that no recoloured pixel leaves [0, 1] and gets clipped.
    light, dark = 0.35 + 0.3 * painting, 0.2 + 0.2 * painting[::-1]
    optimization = ImageOptimization(photo, [light, dark], FAST.replace(style_blend=(3.0, 1.0)), tiny_extractor)
    start = optimization._initial_image(photo.shape[:2], photo)
    assert start.min() > 0.0 and start.max() < 1.0
    mixture = np.concatenate([light.reshape(-1, 3)] * 3 + [dark.reshape(-1, 3)])  # Weights 3 : 1.
    np.testing.assert_allclose(start.reshape(-1, 3).mean(0), mixture.mean(0), atol=1e-3)
    np.testing.assert_allclose(np.cov(start.reshape(-1, 3), rowvar=False), np.cov(mixture, rowvar=False), atol=1e-3)
    # Still the photo: the recolouring is one affine map of its pixels.
    flat = np.c_[photo.reshape(-1, 3), np.ones(photo.shape[0] * photo.shape[1])]
    solution = np.linalg.lstsq(flat, start.reshape(-1, 3), rcond=None)[0]
    assert np.abs(flat @ solution - start.reshape(-1, 3)).max() < 1e-4


def test_init_noise_adds_seeded_gaussian_noise_of_the_given_spread(photo, painting, tiny_extractor):
    def start(**changes):
        optimization = ImageOptimization(photo, [painting], FAST.replace(init="content", **changes), tiny_extractor)
        return optimization._initial_image(photo.shape[:2], photo)

    mid_grey = np.full_like(photo, 0.5)  # Far from 0 and 1, so that clipping leaves the noise alone.
    optimization = ImageOptimization(mid_grey, [painting], FAST.replace(init="content", init_noise=0.1), tiny_extractor)
    noise = optimization._initial_image(photo.shape[:2], mid_grey) - 0.5
    assert abs(noise.mean()) < 0.01 and noise.std() == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(start(init_noise=0.0), photo)
    noisy = start(init_noise=0.2, seed=4)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    np.testing.assert_array_equal(noisy, start(init_noise=0.2, seed=4))
    assert np.abs(noisy - start(init_noise=0.2, seed=5)).mean() > 0.05


def test_negative_init_noise_is_refused():
    with pytest.raises(ConfigError, match="init_noise must be >= 0"):
        FAST.replace(init_noise=-0.1)


def test_max_seconds_stops_early_and_keeps_best(photo, painting, tiny_extractor):
    _, progress, result = _run(photo, painting, tiny_extractor, num_steps=10_000, max_seconds=2.0)
    assert result.stop_reason == "max_seconds"
    assert 1 <= result.steps < 10_000
    assert result.losses["total_loss"] == pytest.approx(min(p.losses["total_loss"] for p in progress))


def test_non_finite_loss_stops_and_keeps_last_good_picture(photo, painting, tiny_extractor, monkeypatch):
    calls = tf.Variable(0)
    original = ImageOptimization._losses

    def poisoned(self, image, targets):
        losses = original(self, image, targets)
        calls.assign_add(1)
        nan_after_three = tf.where(calls > 3, np.nan, 0.0)
        return {**losses, "total_loss": losses["total_loss"] + nan_after_three}

    monkeypatch.setattr(ImageOptimization, "_losses", poisoned)
    _, progress, result = _run(photo, painting, tiny_extractor, optimizer="adam")
    assert result.stop_reason == "non_finite_loss"
    assert len(progress) == 3 and result.steps == 3
    assert np.isfinite(result.image).all()
    assert result.losses["total_loss"] == pytest.approx(min(p.losses["total_loss"] for p in progress))


def test_several_styles_blend_and_blend_length_is_checked(photo, tiny_extractor):
    stripes, flat = make_painting(), np.full((40, 40, 3), [0.2, 0.8, 0.2], np.float32)
    result = stylize(photo, [stripes, flat], FAST.replace(style_blend=(0.8, 0.2)), tiny_extractor)
    assert result.image.shape == (36, 48, 3)
    with pytest.raises(ConfigError, match="style_blend has 1 weights for 2 style images"):
        ImageOptimization(photo, [stripes, flat], FAST.replace(style_blend=(1.0,)), tiny_extractor)


def test_blending_two_copies_of_a_style_equals_one(photo, painting, tiny_extractor):
    one = stylize(photo, [painting], FAST, tiny_extractor).image
    two = stylize(photo, [painting, painting], FAST.replace(style_blend=(3.0, 1.0)), tiny_extractor).image
    np.testing.assert_allclose(one, two, atol=1e-4)


def test_preserve_colors_luminance_keeps_photo_chroma(photo, painting, tiny_extractor):
    result = stylize(photo, [painting], FAST.replace(preserve_colors="luminance"), tiny_extractor)
    content = images.resize_image(photo, result.image.shape[:2])
    to_yiq = color._RGB_TO_YIQ.T
    chroma_error = np.abs((result.image @ to_yiq)[..., 1:] - (content @ to_yiq)[..., 1:])
    assert np.percentile(chroma_error, 95) < 0.02  # Only clipping to [0, 1] may move it.


def test_preserve_colors_histogram_recolours_the_style(photo, painting, tiny_extractor):
    optimization = ImageOptimization(photo, [painting], FAST.replace(preserve_colors="histogram"), tiny_extractor)
    recoloured = optimization.style_images[0].reshape(-1, 3).mean(0)
    np.testing.assert_allclose(recoloured, photo.reshape(-1, 3).mean(0), atol=0.03)


def test_small_image_is_enlarged_to_what_the_network_needs(painting, tiny_extractor):
    result = stylize(make_photo(10, 20), [painting], FAST.replace(num_steps=2, max_size=64), tiny_extractor)
    assert result.image.shape == (32, 64, 3)  # block5_conv1 needs >= 2 x 16 pixels a side.


def test_a_picture_under_the_working_size_is_optimised_larger_and_reduced(photo, painting, tiny_extractor):
    config = FAST.replace(num_steps=3, scales=2, min_working_size=96, preserve_colors="luminance")
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, : photo.shape[1] // 2] = 1.0
    optimization = ImageOptimization(photo, [painting], config, tiny_extractor, content_mask=mask)
    list(optimization.run())
    result = optimization.result()
    assert result.scale_sizes == [(36, 48), (72, 96)]  # The 48-pixel picture, twice as large.
    assert result.image.shape == (36, 48, 3)
    right = images.resize_image(photo, (36, 48))[:, 30:]
    np.testing.assert_allclose(result.image[:, 30:], right, atol=1e-5)  # Outside the mask: the photo.
    assert not np.allclose(result.image[:, :18], images.resize_image(photo, (36, 48))[:, :18], atol=0.02)
    # At or above the working size nothing changes; a texture keeps its own size.
    assert ImageOptimization(photo, [painting], FAST.replace(min_working_size=48), tiny_extractor).scale_sizes == [
        (36, 48)
    ]
    texture = FAST.replace(output_size=(40, 40), min_working_size=96)
    assert ImageOptimization(None, [painting], texture, tiny_extractor).scale_sizes == [(40, 40)]


def test_max_size_is_never_exceeded_for_an_elongated_photo(painting, tiny_extractor):
    """A 5 x 100 strip at max_size 48 would need 32 x 640 pixels: refused, not painted at 640."""
    with pytest.raises(ConfigError, match=r"the photo is 100x5: at max_size 48 .* at least 640"):
        ImageOptimization(make_photo(5, 100), [painting], FAST, tiny_extractor)
    with pytest.raises(ConfigError, match="the photo is 20x10: at max_size 48 .* at least 64"):
        ImageOptimization(make_photo(10, 20), [painting], FAST, tiny_extractor)


@pytest.mark.parametrize(
    "shape, message",
    [((4, 100, 3), "more elongated than 20:1"), ((8, 8, 4), "must be an \\(height, width, 3\\) RGB array")],
)
def test_image_arrays_are_admitted_like_files(painting, tiny_extractor, shape, message):
    from tf_style.errors import ImageError

    with pytest.raises(ImageError, match=message):
        ImageOptimization(np.zeros(shape, np.float32), [painting], FAST, tiny_extractor)
    with pytest.raises(ImageError, match=message):
        ImageOptimization(make_photo(), [np.zeros(shape, np.float32)], FAST, tiny_extractor)
    with pytest.raises(ImageError, match="NaN or infinite"):
        ImageOptimization(np.full((16, 16, 3), np.nan, np.float32), [painting], FAST, tiny_extractor)


def test_per_layer_weights_and_paper_names(photo, painting, tiny_extractor):
    config = FAST.replace(
        style_layers=("conv1_1", "relu2_1", "block1_conv1"), style_layer_weights=(1, 2, 3), num_steps=1
    )
    optimization = ImageOptimization(photo, [painting], config, tiny_extractor)
    assert optimization.objective.term("style_loss").layer_weights == {"block1_conv1": 4.0, "block2_conv1": 2.0}


def test_bad_image_arrays(painting, tiny_extractor):
    from tf_style.errors import ImageError

    with pytest.raises(ImageError, match="content image must be an"):
        ImageOptimization(np.zeros((8, 8)), [painting], FAST, tiny_extractor)
    with pytest.raises(ConfigError, match="at least one style image"):
        ImageOptimization(make_photo(), [], FAST, tiny_extractor)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_steps": 0}, "num_steps must be a whole number >= 1"),
        ({"style_weight": 0.0}, "style_weight must be > 0"),
        ({"content_weight": -1.0}, "content_weight must be >= 0"),
        ({"tv_weight": float("nan")}, "tv_weight must be a finite number"),
        ({"style_layer_weights": (1.0, -2.0, 1, 1, 1)}, "style_layer_weights must be > 0"),
        ({"style_layer_weights": (1.0,)}, "has 1 values for 5 layers"),
        ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam"),
        ({"lbfgs_scaling": "identity"}, "lbfgs_scaling must be one of diagonal, scalar, got 'identity'"),
        ({"init": "/no/such/start.png"}, "init must be one of"),
        ({"max_seconds": 0}, "max_seconds must be > 0"),
        ({"min_working_size": -1}, "min_working_size must be"),
        ({"style_layers": ()}, "style_layers must name at least one layer"),
        ({"photorealistic": True, "photorealism_weight": -1.0}, "photorealism_weight must be > 0"),
        ({"photorealistic": True, "output_size": (64, 64)}, "photorealistic needs a photo"),
    ],
)
def test_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message) as error:
        StylizeConfig(**changes)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_xla_step_runs_and_lowers_the_loss(photo, painting, tiny_extractor, optimizer):
    optimization, progress, result = _run(photo, painting, tiny_extractor, optimizer=optimizer, xla=True, num_steps=6)
    assert result.stop_reason == "completed" and result.steps == 6
    assert progress[-1].losses["total_loss"] < progress[0].losses["total_loss"]
    assert optimization.step_function.tracing_count() == 1


def test_public_stylize_stays_the_function_after_the_module_is_imported():
    import tf_style

    assert callable(tf_style.ImageOptimization) and callable(tf_style.stylize)
    assert tf_style.stylize is stylize


def test_a_texture_has_the_output_size_and_no_content_term(painting, tiny_extractor):
    config = FAST.replace(output_size=(40, 72), num_steps=5)
    optimization = ImageOptimization(None, [painting], config, tiny_extractor)
    progress = list(optimization.run())
    result = optimization.result()
    assert result.image.shape == (40, 72, 3)
    assert "content_loss" not in result.losses and result.losses["style_loss"] > 0
    assert progress[-1].losses["total_loss"] < progress[0].losses["total_loss"]


def test_a_texture_starts_from_noise_in_the_paintings_colours(painting, tiny_extractor):
    optimization = ImageOptimization(None, [painting], FAST.replace(output_size=(64, 64)), tiny_extractor)
    start = optimization._initial_image((64, 64), None)
    mean, _ = color.color_statistics([painting])
    np.testing.assert_allclose(start.reshape(-1, 3).mean(0), mean, atol=0.05)
    assert np.abs(np.diff(start, axis=1)).mean() > 0.05  # Noise, not a flat colour.


def test_a_photo_and_an_output_size_exclude_each_other(photo, painting, tiny_extractor):
    with pytest.raises(ConfigError, match="either a content image or an output_size"):
        ImageOptimization(photo, [painting], FAST.replace(output_size=(40, 40)), tiny_extractor)
    with pytest.raises(ConfigError, match="either a content image or an output_size"):
        ImageOptimization(None, [painting], FAST, tiny_extractor)


def test_a_tileable_picture_wraps_its_smoothness_term_too():
    assert FAST.replace(boundary="wrap").objective().term("tv_loss").wrap
    assert not FAST.objective().term("tv_loss").wrap


def test_photorealistic_keeps_the_photos_shapes_where_the_plain_run_does_not(photo, painting, tiny_extractor):
    # Content weight 0: only the style and the matting-Laplacian term decide the picture.
    plain = _run(photo, painting, tiny_extractor, content_weight=0.0, num_steps=15)[2]
    photoreal_optimization, _, photoreal = _run(
        photo, painting, tiny_extractor, content_weight=0.0, num_steps=15, photorealistic=True
    )
    term = photoreal_optimization.objective.term("photorealism_loss")
    offsets, inverses = term.target(images.resize_image(photo, photoreal.image.shape[:2]))

    def affinity_residual(picture):
        return float(losses_lib.matting_laplacian_loss(picture[None], offsets, inverses, term.epsilon))

    assert "photorealism_loss" in photoreal.losses and "photorealism_loss" not in plain.losses
    assert affinity_residual(photoreal.image) < 0.2 * affinity_residual(plain.image)


def test_color_weight_brings_the_pictures_colours_to_the_paintings(photo, painting, tiny_extractor):
    from tf_style.evaluation import measures

    def without_brightness(image):  # Each pixel's grey part replaced by mid-grey: hue and saturation remain.
        return np.clip(image - image.mean(axis=-1, keepdims=True) + 0.5, 0.0, 1.0)

    distances = {}
    for weight in (0.0, 20.0):
        _, progress, result = _run(photo, painting, tiny_extractor, init="content", color_weight=weight)
        assert ("color_loss" in progress[-1].losses) == bool(weight)
        distances[weight] = measures.color_histogram_distance(
            without_brightness(result.image), without_brightness(painting)
        )
    assert distances[20.0] < 0.7 * distances[0.0], distances


def test_layout_weight_keeps_the_photos_light_and_dark_masses(photo, painting, tiny_extractor):
    from tf_style.evaluation import measures

    correlations = {}
    for weight in (0.0, 50.0):
        _, progress, result = _run(photo, 1.0 - painting, tiny_extractor, init="noise", layout_weight=weight)
        assert ("layout_loss" in progress[-1].losses) == bool(weight)
        correlations[weight] = measures.layout_correlation(photo, result.image)
    assert correlations[50.0] > 0.9 and correlations[50.0] > correlations[0.0] + 0.1, correlations


def test_masked_gram_matrix_is_the_gram_matrix_of_the_region():
    from tf_style.losses import functional

    features = tf.random.uniform((1, 4, 6, 3), seed=0)
    ones = tf.ones((1, 4, 6, 1))
    np.testing.assert_allclose(
        functional.masked_gram_matrix(features, ones), functional.gram_matrix(features), rtol=1e-5
    )
    left = tf.concat([tf.ones((1, 4, 3, 1)), tf.zeros((1, 4, 3, 1))], axis=2)
    np.testing.assert_allclose(
        functional.masked_gram_matrix(features, left), functional.gram_matrix(features[:, :, :3]), rtol=1e-5
    )


def _two_paintings():
    """Stripes in warm colours and in cool ones: far apart in mean colour."""
    stripes = make_painting(64, 64)[..., :1] > 0.5
    warm = np.where(stripes, [0.95, 0.55, 0.1], [0.8, 0.15, 0.1]).astype(np.float32)
    cool = np.where(stripes, [0.1, 0.6, 0.9], [0.1, 0.2, 0.6]).astype(np.float32)
    return warm, cool


def test_each_painting_stays_in_its_region(photo, tiny_extractor):
    warm, cool = _two_paintings()
    left = np.zeros(photo.shape[:2], np.float32)
    left[:, : photo.shape[1] // 2] = 1.0
    config = FAST.replace(num_steps=40)
    result = stylize(photo, [warm, cool], config, tiny_extractor, style_masks=[left, 1.0 - left])
    half = result.image.shape[1] // 2

    def distance(picture, painting):  # Mean colour: the regions' own statistic, free of the network.
        return float(np.abs(picture.reshape(-1, 3).mean(0) - painting.reshape(-1, 3).mean(0)).sum())

    left_half, right_half = result.image[:, : half - 4], result.image[:, half + 4 :]
    assert distance(left_half, warm) < distance(left_half, cool)
    assert distance(right_half, cool) < distance(right_half, warm)


def test_outside_the_content_mask_the_picture_is_the_photo(photo, painting, tiny_extractor):
    top = np.zeros(photo.shape[:2], np.float32)
    top[: photo.shape[0] // 2] = 1.0
    result = stylize(photo, painting, FAST.replace(num_steps=5), tiny_extractor, content_mask=top)
    small = images.resize_image(photo, result.image.shape[:2])
    np.testing.assert_allclose(result.image[-6:], small[-6:], atol=1e-6)
    assert np.abs(result.image[:6] - small[:6]).mean() > 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"style_masks": [np.ones((48, 64))] * 2}, "2 style masks for 1 style images"),
        ({"style_masks": [np.ones((64, 64))]}, "a mask must have the photo's shape"),
        ({"style_masks": [np.zeros((48, 64))]}, "the mask of style image 1 is empty"),
        ({"content_mask": np.full((48, 64), 2.0)}, "must hold values in [0, 1]"),
        ({"content_mask": np.ones((24, 32)), "changes": {"style_loss": ("mrf",)}}, "Gram style loss only"),
        ({"style_masks": [np.ones((48, 64))], "changes": {"color_weight": 1.0}}, "style masks and color_weight"),
    ],
)
def test_bad_masks(photo, painting, tiny_extractor, kwargs, message):
    changes = kwargs.pop("changes", {})
    with pytest.raises(ConfigError, match=re.escape(message)):
        ImageOptimization(photo, [painting], FAST.replace(**changes), tiny_extractor, **kwargs)


def test_a_texture_takes_no_mask(painting, tiny_extractor):
    with pytest.raises(ConfigError, match="masks need a photo"):
        ImageOptimization(
            None, [painting], FAST.replace(output_size=(40, 40)), tiny_extractor, content_mask=np.ones((40, 40))
        )


class _RecordingExtractor:
    """Passes calls to an extractor and records the sides of the images it sees."""

    def __init__(self, extractor):
        self.extractor = extractor
        self.sides = []

    def __call__(self, images, boundary="zeros"):
        self.sides.append(tuple(int(side) for side in images.shape[1:3]))
        return self.extractor(images, boundary=boundary)

    def __getattr__(self, name):
        return getattr(self.extractor, name)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_picture_larger_than_the_tile_size_is_optimised_tile_by_tile(painting, tiny_extractor, optimizer):
    photo = make_photo(96, 128)
    recording = _RecordingExtractor(tiny_extractor)
    config = FAST.replace(
        max_size=128,
        scales=2,
        num_steps=4,
        tile_size=64,
        tile_overlap=16,
        tile_steps=3,
        optimizer=optimizer,
        color_weight=1.0,  # Its target, the paintings' colours, reaches every tile.
    )
    optimization = ImageOptimization(photo, [painting], config, recording)
    assert optimization.tiled == [False, True]
    assert optimization.total_steps == 4 + 6 * 3  # 48 x 64 whole, then 2 x 3 tiles of 64 x 64.
    progress, start = [], None
    for each in optimization.run():
        if each.scale == 2 and start is None:  # No tile blended in yet: the upsampled coarse picture.
            start = optimization.result().image
        progress.append(each)
    result = optimization.result()
    assert result.image.shape == (96, 128, 3) and result.steps == 22
    tiled = [p for p in progress if p.scale == 2]
    assert [p.tile for p in tiled] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]
    assert {p.num_tiles for p in tiled} == {6} and {p.image_size for p in tiled} == {(96, 128)}
    assert all(np.isfinite(p.losses["color_loss"]) for p in tiled)
    # Memory follows the tile: at the tiled scale the network never sees the whole picture.
    assert (96, 128) not in recording.sides and (64, 64) in recording.sides
    # Every tile was worked on: no part of the picture is the upsampled coarse picture any more.
    changed = np.abs(result.image - start).mean(axis=-1)
    for top in (0, 48):
        for left in (0, 43, 86):
            assert changed[top : top + 48, left : left + 42].mean() > 1e-3


def test_each_tile_matches_the_paintings_grams_plus_its_own_difference_from_the_mean():
    rng = np.random.default_rng(4)
    painting_grams = {"a": rng.normal(size=(1, 3, 3)), "b": rng.normal(size=(1, 2, 2))}
    tile_grams = [{"a": rng.normal(size=(1, 3, 3)), "b": rng.normal(size=(1, 2, 2))} for _ in range(4)]
    shares = np.array([0.1, 0.2, 0.3, 0.4])
    targets = tile_gram_targets(painting_grams, tile_grams, shares)
    for layer in ("a", "b"):
        # Together the tiles have the paintings' statistics ...
        mean = sum(share * target[layer] for share, target in zip(shares, targets))
        np.testing.assert_allclose(mean, painting_grams[layer], atol=1e-12)
        # ... and each keeps its difference from the others (the layout of the coarser scale).
        np.testing.assert_allclose(
            targets[2][layer] - targets[0][layer], tile_grams[2][layer] - tile_grams[0][layer], atol=1e-12
        )


def test_tiles_keep_each_painting_in_its_region(tiny_extractor):
    photo = make_photo(96, 128)
    warm, cool = _two_paintings()
    # The left region lies in the first column of tiles (columns 0-63 of 0-63, 32-95, 64-127) and
    # the edge of the second: the third paints none of it.
    left = np.zeros(photo.shape[:2], np.float32)
    left[:, :40] = 1.0
    config = FAST.replace(max_size=128, scales=1, tile_size=64, tile_overlap=16, tile_steps=20)

    def painted(style_masks):
        optimization = ImageOptimization(photo, [warm, cool], config, tiny_extractor, style_masks=style_masks)
        assert optimization.tiled == [True]
        assert {progress.tile for progress in optimization.run()} == {1, 2, 3, 4, 5, 6}
        assert optimization.step_function.tracing_count() == 1  # Every tile's masks fit one compiled step.
        image = optimization.result().image
        return image[:, :34], image[:, 46:]  # The two regions, 6 pixels either side of the edge left out.

    # A tile without a painting's region gives that painting no share (tiles go row by row).
    optimization = ImageOptimization(photo, [warm, cool], config, tiny_extractor, style_masks=[left, 1.0 - left])
    size = optimization.scale_sizes[-1]
    boxes = tiling.tile_boxes(size, 64, 16)
    weights = [tiling.blend_weights(box, size, 16) for box in boxes]
    start = optimization._initial_image(size, images.resize_image(photo, size))
    targets = optimization._tile_style_targets(size, start, False, boxes, weights)
    assert [target["shares"] for target in targets] == [[0.5, 0.5], [0.5, 0.5], [0.0, 0.5]] * 2

    def distance(picture, painting):  # Mean colour: the regions' own statistic, free of the network.
        return float(np.abs(picture.reshape(-1, 3).mean(0) - painting.reshape(-1, 3).mean(0)).sum())

    # The tiny network moves mean colours slowly, so each region is compared with itself under the
    # other painting (the masks swapped): ignoring the masks would paint both runs alike.
    left_warm, right_cool = painted([left, 1.0 - left])
    left_cool, right_warm = painted([1.0 - left, left])
    assert distance(left_warm, warm) < distance(left_cool, warm) - 0.2
    assert distance(left_cool, cool) < distance(left_warm, cool) - 0.2
    assert distance(right_warm, warm) < distance(right_cool, warm) - 0.2
    assert distance(right_cool, cool) < distance(right_warm, cool) - 0.2


@pytest.mark.parametrize("masked", [False, True])
def test_tiles_keep_their_differences_only_from_a_coarser_scale(painting, tiny_extractor, masked):
    photo = make_photo(96, 128)
    config = FAST.replace(max_size=128, scales=1, tile_size=64, tile_overlap=16)
    style_masks = [np.ones(photo.shape[:2], np.float32)] if masked else None
    optimization = ImageOptimization(photo, [painting], config, tiny_extractor, style_masks=style_masks)
    size = optimization.scale_sizes[-1]
    boxes = tiling.tile_boxes(size, 64, 16)
    weights = [tiling.blend_weights(box, size, 16) for box in boxes]
    start = optimization._initial_image(size, images.resize_image(photo, size))

    def grams(from_coarser):  # [tile] {layer: (1, C, C)}
        targets = optimization._tile_style_targets(size, start, from_coarser, boxes, weights)
        if masked:
            return [{layer: each[0] for layer, each in target["grams"].items()} for target in targets]
        return targets

    # From the photo (the first scale), every tile matches the painting's Gram matrices ...
    first = grams(False)
    for target in first[1:]:
        for layer, gram in target.items():
            np.testing.assert_allclose(gram, first[0][layer])
    # ... from a coarser scale's picture, each keeps its difference, and their mean is the painting's.
    later = grams(True)
    shares = np.array([weight.sum() for weight in weights]) / sum(weight.sum() for weight in weights)
    for layer in first[0]:
        assert np.abs(later[1][layer] - later[0][layer]).max() > 1e-3 * np.abs(first[0][layer]).max()
        mean = sum(share * target[layer] for share, target in zip(shares, later))
        np.testing.assert_allclose(mean, first[0][layer], rtol=1e-4, atol=1e-6 * np.abs(first[0][layer]).max())


def test_tiles_refuse_other_style_losses(painting, tiny_extractor):
    config = FAST.replace(max_size=128, tile_size=64, tile_overlap=16, style_loss=("mrf",))
    with pytest.raises(ConfigError, match="which take the Gram style loss only"):
        ImageOptimization(make_photo(96, 128), [painting], config, tiny_extractor)


def test_tile_sizes_are_checked():
    with pytest.raises(ConfigError, match="tile_size must be a whole number >= 256"):
        StylizeConfig(tile_size=200)
    with pytest.raises(ConfigError, match="tile_steps must be a whole number >= 1"):
        StylizeConfig(tile_steps=0)


def test_a_time_limit_shares_a_tiled_scale_between_its_tiles(painting, tiny_extractor):
    # 8 s: on a 2-core Intel Xeon the first tile's tracing alone took most of 3 s, and two tiles got no step.
    config = FAST.replace(max_size=128, tile_size=64, tile_overlap=16, tile_steps=1000, max_seconds=8.0)
    optimization = ImageOptimization(make_photo(96, 128), [painting], config, tiny_extractor)
    progress = list(optimization.run())
    result = optimization.result()
    assert result.stop_reason == "max_seconds" and result.image.shape == (96, 128, 3)
    assert {p.tile for p in progress} == {1, 2, 3, 4, 5, 6}  # Every tile had its share of the time.
    assert result.elapsed_seconds < 8.0 + 2.0
