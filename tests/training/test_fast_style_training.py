"""Model optimisation: the photo pipeline, a few training steps, exact resume, two devices."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.errors import ConfigError, ImageError, ModelError, OutputError
from tf_style.io import images
from tf_style.networks import saving
from tf_style.training.config import TrainConfig
from tf_style.training.data import list_training_images, make_photo_dataset
from tf_style.training.fast_style import FastStyleTraining

from conftest import TESTS, make_painting, make_photo

TINY = {
    "crop_size": 32,
    "batch_size": 2,
    "log_every": 1,
    "sample_every": 2,
    "checkpoint_every": 2,
    "learning_rate": 5e-3,
}


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    for index in range(4):
        images.save_image(make_photo(40 + 8 * index, 56, seed=index), str(folder / f"photo{index}.jpg"))
    images.save_image(make_photo(20, 24, seed=9)[..., :1].repeat(3, -1), str(folder / "more" / "small_gray.png"))
    return folder


def tiny_builder(layers, *args, **kwargs):
    """A tiny random VGG19 loss network (real layer names, nothing to load), the same every time."""
    import keras

    keras.utils.set_random_seed(0)
    return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)


def _training(paths, output_dir, builder, **changes):
    config = TrainConfig(**{**TINY, **changes})
    return FastStyleTraining(make_painting(48, 48), paths, config, str(output_dir), extractor_builder=builder)


def test_list_training_images_skips_unreadable_files_with_a_warning(photo_folder):
    (photo_folder / "notes.jpg").write_text("not an image")
    (photo_folder / "empty.png").write_bytes(b"")
    (photo_folder / "readme.txt").write_text("ignored: not an image extension")
    whole = (photo_folder / "photo0.jpg").read_bytes()
    (photo_folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])  # Header fine, data cut short.
    with pytest.warns(UserWarning, match="skipping .*(notes.jpg|empty.png|cut.jpg)") as caught:
        paths = list_training_images(str(photo_folder))
    assert len(caught) == 3
    assert [os.path.relpath(path, photo_folder) for path in paths] == (
        ["more/small_gray.png"] + [f"photo{i}.jpg" for i in range(4)]
    )


def test_list_training_images_errors(tmp_path):
    with pytest.raises(ImageError, match="training image folder not found"):
        list_training_images(str(tmp_path / "missing"))
    with pytest.raises(ImageError, match="no readable training images"):
        list_training_images(str(tmp_path))


def test_photo_dataset_shapes_range_and_exact_continuation(photo_folder):
    paths = list_training_images(str(photo_folder))
    batches = [batch.numpy() for batch in make_photo_dataset(paths, 32, 3, seed=5).take(4)]
    assert all(batch.shape == (3, 32, 32, 3) and batch.dtype == np.float32 for batch in batches)
    assert all(batch.min() >= 0.0 and batch.max() <= 1.0 for batch in batches)
    again = [batch.numpy() for batch in make_photo_dataset(paths, 32, 3, seed=5).take(4)]
    np.testing.assert_array_equal(np.stack(batches), np.stack(again))
    # Starting after 6 photos continues the same stream (the small photo is upsampled, not dropped).
    resumed = [batch.numpy() for batch in make_photo_dataset(paths, 32, 3, seed=5, start_index=6).take(2)]
    np.testing.assert_array_equal(np.stack(resumed), np.stack(batches[2:]))
    other_seed = next(iter(make_photo_dataset(paths, 32, 3, seed=6))).numpy()
    assert not np.array_equal(other_seed, batches[0])


def test_few_steps_reduce_the_loss_and_write_summaries(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    training = _training(paths, tmp_path / "run", tiny_builder, num_steps=12)
    history = [progress.losses["total_loss"] for progress in training.run()]
    assert len(history) == 12 and all(np.isfinite(history))
    assert np.mean(history[-3:]) < 0.7 * history[0], history
    assert training.resumed_step == 12
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoints", "logs"]
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "run" / "logs"))
    stylized = np.asarray(training.transform_net(make_photo(24, 40)[None]))
    assert stylized.shape == (1, 24, 40, 3)


def test_the_seed_not_the_global_random_state_decides_the_initial_network(photo_folder, tmp_path):
    import keras

    def builder(layers, *args, **kwargs):  # Random loss network; leaves the global seeds alone.
        return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)

    paths = list_training_images(str(photo_folder))
    networks = []
    for index, global_seed in enumerate((1, 2)):
        keras.utils.set_random_seed(global_seed)
        expected_next = np.random.rand()
        keras.utils.set_random_seed(global_seed)
        networks.append(_training(paths, tmp_path / f"run{index}", builder, seed=4).transform_net)
        assert np.random.rand() == expected_next  # The caller's global random state is untouched.
    for one, other in zip(networks[0].weights, networks[1].weights):
        np.testing.assert_array_equal(np.asarray(one), np.asarray(other))


def test_interrupt_and_resume_matches_an_uninterrupted_run(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    straight = _training(paths, tmp_path / "straight", tiny_builder, num_steps=4)
    straight_losses = [progress.losses["total_loss"] for progress in straight.run()]

    first = _training(paths, tmp_path / "resumed", tiny_builder, num_steps=4)
    for progress in first.run():
        if progress.step == 3:
            break  # "Interrupted" after step 3: the caller saves a checkpoint.
    first.save_checkpoint()
    resumed = _training(paths, tmp_path / "resumed", tiny_builder, num_steps=4)
    assert resumed.resumed_step == 3
    assert int(resumed.optimizer.iterations.numpy()) == 3
    resumed_losses = [progress.losses["total_loss"] for progress in resumed.run()]

    assert len(resumed_losses) == 1
    np.testing.assert_allclose(resumed_losses[0], straight_losses[3], rtol=1e-5)
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == 4
    for resumed_weight, straight_weight in zip(resumed.transform_net.weights, straight.transform_net.weights):
        np.testing.assert_allclose(np.asarray(resumed_weight), np.asarray(straight_weight), atol=1e-6)
    for resumed_slot, straight_slot in zip(resumed.optimizer.variables, straight.optimizer.variables):
        np.testing.assert_allclose(np.asarray(resumed_slot), np.asarray(straight_slot), atol=1e-6)


def test_a_checkpoint_of_another_network_is_refused(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    first = _training(paths, tmp_path / "run", tiny_builder, num_steps=1)
    list(first.run())
    first.save_checkpoint()
    with pytest.raises(ModelError, match="does not fit this network .* use a new output folder"):
        _training(paths, tmp_path / "run", tiny_builder, num_steps=1, model_size="classic")


def test_init_model_starts_from_a_trained_network(photo_folder, tmp_path):

    paths = list_training_images(str(photo_folder))
    first = _training(paths, tmp_path / "first", tiny_builder, num_steps=2)
    list(first.run())
    saved = str(tmp_path / "first.keras")
    saving.save_keras_model(first.transform_net, saved)
    tuned = _training(paths, tmp_path / "tuned", tiny_builder, num_steps=1, init_model=saved, seed=7)
    for mine, theirs in zip(tuned.transform_net.weights, first.transform_net.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert np.isfinite(next(tuned.run()).losses["total_loss"])
    with pytest.raises(ModelError, match="is not a classic network of this version of tf_style"):
        _training(paths, tmp_path / "classic", tiny_builder, model_size="classic", init_model=saved)
    with pytest.raises(ModelError, match="model file not found"):
        _training(paths, tmp_path / "missing", tiny_builder, init_model=str(tmp_path / "missing.keras"))


def test_init_model_of_several_styles_starts_from_their_even_blend(photo_folder, tmp_path):
    from tf_style.networks.johnson.transform_net import MODEL_SIZES, TransformNet

    paths = list_training_images(str(photo_folder))
    multi = TransformNet(**MODEL_SIZES["mobile"], seed=3, num_styles=2)
    multi.get_layer("stem_norm").set_weights([np.stack([np.full(8, 0.5), np.full(8, 1.5)]), np.ones((2, 8))])
    saved = str(tmp_path / "multi.keras")
    saving.save_keras_model(multi, saved)
    tuned = _training(paths, tmp_path / "tuned", tiny_builder, num_steps=1, init_model=saved)
    expected = multi.single_style([1.0, 1.0])
    for mine, theirs in zip(tuned.transform_net.get_weights(), expected.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    stem = tuned.transform_net.get_layer("stem_norm").get_weights()
    np.testing.assert_allclose(stem[0], np.ones(8), atol=1e-6)  # The mean of 0.5 and 1.5 times the ones.
    assert np.isfinite(next(tuned.run()).losses["total_loss"])


def test_trainable_norms_changes_only_the_normalisations_and_resumes(photo_folder, tmp_path):
    from tf_style.networks.layers import InstanceNormalization

    paths = list_training_images(str(photo_folder))
    first = _training(paths, tmp_path / "first", tiny_builder, num_steps=1)
    saved = str(tmp_path / "first.keras")
    saving.save_keras_model(first.transform_net, saved)
    start = {weight.path: np.asarray(weight).copy() for weight in first.transform_net.weights}

    tuned = _training(paths, tmp_path / "tuned", tiny_builder, num_steps=3, init_model=saved, trainable="norms")
    losses = [progress.losses["total_loss"] for progress in tuned.run()]
    assert all(np.isfinite(losses))
    norms = {
        weight.path
        for layer in tuned.transform_net.layers
        if isinstance(layer, InstanceNormalization)
        for weight in layer.weights
    }
    assert norms and len(tuned.trained_variables()) == len(norms)
    changed = {path for path, value in start.items() if not np.array_equal(value, np.asarray(_weight(tuned, path)))}
    assert changed and changed <= norms  # Every convolution is as it was; some scale or offset moved.
    # Only the trained variables have Adam slots, and a resumed run restores them.
    tuned.save_checkpoint()
    resumed = _training(paths, tmp_path / "tuned", tiny_builder, num_steps=4, init_model=saved, trainable="norms")
    assert resumed.resumed_step == 3
    for mine, theirs in zip(resumed.optimizer.variables, tuned.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def _weight(training, path):
    return next(weight for weight in training.transform_net.weights if weight.path == path)


def test_color_weight_trains_toward_the_paintings_pixels(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    training = _training(paths, tmp_path / "run", tiny_builder, num_steps=2, color_weight=2.0)
    quantiles, directions = training.pixel_targets["color_loss"]
    assert quantiles.shape[1] == directions.shape[1] and directions.shape[0] == 3
    losses = [progress.losses for progress in training.run()]
    assert all(np.isfinite(each["color_loss"]) and each["color_loss"] > 0 for each in losses)
    terms = losses[-1]
    weighted = terms["content_loss"] + 16.0 * terms["style_loss"] + 10.0 * terms["tv_loss"] + 2.0 * terms["color_loss"]
    assert terms["total_loss"] == pytest.approx(weighted, rel=1e-5)


def test_layout_weight_trains_toward_each_photos_light_and_dark_masses(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    training = _training(paths, tmp_path / "run", tiny_builder, num_steps=2, layout_weight=3.0)
    losses = [progress.losses for progress in training.run()]
    assert all(np.isfinite(each["layout_loss"]) and 0 < each["layout_loss"] < 4 for each in losses)
    terms = losses[-1]
    weighted = terms["content_loss"] + 16.0 * terms["style_loss"] + 10.0 * terms["tv_loss"] + 3.0 * terms["layout_loss"]
    assert terms["total_loss"] == pytest.approx(weighted, rel=1e-5)


def test_trainable_norms_needs_a_trained_network():
    with pytest.raises(ConfigError, match="trainable=norms trains part of a trained network, so it needs init_model"):
        TrainConfig(trainable="norms")
    with pytest.raises(ConfigError, match="trainable must be one of all, norms, got 'convs'"):
        TrainConfig(trainable="convs", init_model="x.keras")


def test_per_layer_weights_weigh_the_losses(photo_folder, tmp_path):
    from tf_style.losses import functional as losses

    paths = list_training_images(str(photo_folder))
    training = _training(
        paths, tmp_path / "run", tiny_builder, style_layers=("conv1_1", "relu2_1"), style_layer_weights=(3.0, 1.0)
    )
    assert training.objective.term("style_loss").layer_weights == {"block1_conv1": 3.0, "block2_conv1": 1.0}
    photos = next(iter(make_photo_dataset(paths, 32, 2, seed=0)))
    named_losses = training.compute_losses(photos)
    features = training.loss_extractor(training.transform_net(photos))
    per_layer = [
        float(losses.style_layer_loss(features[name], training.target_grams[name]))
        for name in ("block1_conv1", "block2_conv1")
    ]
    assert abs(per_layer[0] - per_layer[1]) > 1e-3 * per_layer[0]  # Unequal, so the weighting shows.
    np.testing.assert_allclose(float(named_losses["style_loss"]), (3 * per_layer[0] + per_layer[1]) / 4, rtol=1e-5)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"style_layer_weights": (1.0,)}, "style_layer_weights has 1 values for 5 layers"),
        ({"content_layer_weights": (-1.0,)}, "content_layer_weights must be > 0"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
        ({"crop_size": 16}, "crop_size must be a whole number >= 32"),
        ({"model_size": "huge"}, "model_size must be one of classic, mobile"),
        ({"style_weight": 0.0}, "style_weight must be > 0"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
    ],
)
def test_bad_settings(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(tmp_path):
    """Two replicas of half the batch each give the same update as one device with the whole batch."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {TESTS!r})
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        from conftest import make_painting, make_photo
        from tf_style.backbones.feature_extractor import build_feature_extractor
        from tf_style.io import images
        from tf_style.training.config import TrainConfig
        from tf_style.training.fast_style import FastStyleTraining
        paths = []
        for index in range(4):
            paths.append({str(tmp_path)!r} + f"/photo{{index}}.png")
            images.save_image(make_photo(40, 48, seed=index), paths[-1])
        def builder(layers, *args, **kwargs):
            keras.utils.set_random_seed(0)
            return build_feature_extractor(layers, "vgg19", weights=None, width=1 / 16)
        config = TrainConfig(crop_size=32, batch_size=4, num_steps=2, learning_rate=5e-3)
        results = []
        for name, strategy in (("one", None), ("two", tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"]))):
            training = FastStyleTraining(make_painting(48, 48), paths, config, {str(tmp_path)!r} + "/" + name,
                                         strategy=strategy, extractor_builder=builder)
            losses = [p.losses["total_loss"] for p in training.run()]
            # Compare what the nets compute: a few parameters get gradients of rounding-noise size,
            # which Adam (dividing by the gradient's own scale) turns into device-dependent steps.
            results.append((training.strategy.num_replicas_in_sync, losses,
                            np.asarray(training.transform_net(make_photo(40, 48)[None]))))
        (one_replicas, one_losses, one_output), (two_replicas, two_losses, two_output) = results
        assert (one_replicas, two_replicas) == (1, 2), (one_replicas, two_replicas)
        np.testing.assert_allclose(two_losses, one_losses, rtol=1e-4)
        np.testing.assert_allclose(two_output, one_output, atol=1e-4)
        assert np.abs(one_output - np.asarray(keras.ops.sigmoid(0.0))).max() > 1e-3  # The nets did learn.
        print("mirrored ok", two_losses)
    """)
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "mirrored ok" in completed.stdout


# Photos and checkpoints that cannot be used ------------------------------------------------------


def _animated_webp(path):
    frames = [Image.new("RGB", (40, 32), colour) for colour in ("red", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)


def test_photos_training_cannot_use_are_skipped_by_name(photo_folder):
    _animated_webp(photo_folder / "a_first_animated.webp")  # Sorted first: it once hung the sample batch.
    Image.new("RGB", (400, 1)).save(photo_folder / "strip.png")
    Image.new("1", (10_000, 10_000)).save(photo_folder / "bomb.png")
    with pytest.warns(UserWarning) as caught:
        paths = list_training_images(str(photo_folder))
    messages = sorted(str(warning.message) for warning in caught)
    assert len(messages) == 3
    assert "a_first_animated.webp: TensorFlow cannot decode it" in messages[0]
    assert "bomb.png: image has 10000x10000 pixels, more than 89,478,485" in messages[1]
    assert "strip.png: image is 400x1, more elongated than 20:1" in messages[2]
    assert [os.path.basename(path) for path in paths] == ["small_gray.png"] + [f"photo{i}.jpg" for i in range(4)]


def test_a_folder_of_only_unusable_photos_is_an_error_not_a_hang(tmp_path):
    for index in range(2):
        _animated_webp(tmp_path / f"{index}.webp")
    with pytest.warns(UserWarning), pytest.raises(ImageError, match="no readable training images"):
        list_training_images(str(tmp_path))


def test_the_pipeline_stops_at_a_photo_it_cannot_decode_instead_of_skipping_it(tmp_path):
    import tensorflow as tf

    _animated_webp(tmp_path / "animated.webp")
    with pytest.raises(tf.errors.InvalidArgumentError):
        next(iter(make_photo_dataset([str(tmp_path / "animated.webp")], 32, 1, seed=0)))


def test_a_photo_removed_after_the_run_started_is_one_error(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    training = _training(paths, tmp_path / "run", tiny_builder, num_steps=6)
    os.remove(paths[1])
    with pytest.raises(ImageError, match="a training photo could not be read at step [1-6] \\(was it changed or"):
        for _ in training.run():
            pass


@pytest.fixture
def finished_run(photo_folder, tmp_path):
    paths = list_training_images(str(photo_folder))
    run = tmp_path / "run"
    for _ in _training(paths, run, tiny_builder, num_steps=2, checkpoint_every=1).run():
        pass
    return paths, run


def test_a_damaged_checkpoint_is_one_error(finished_run):
    paths, run = finished_run
    data = run / "checkpoints" / "ckpt-2.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:40])
    with pytest.raises(ModelError, match="checkpoints/ckpt-2 is damaged .* move it away"):
        _training(paths, run, tiny_builder, num_steps=4)


@pytest.mark.parametrize("damage", ["garbled", "missing"])
def test_a_damaged_checkpoint_index_is_one_error_not_a_restart(finished_run, damage):
    paths, run = finished_run
    index = run / "checkpoints" / "checkpoint"
    if damage == "garbled":
        index.write_text("%%% not a checkpoint index {{{")
    else:
        index.unlink()
    with pytest.raises(ModelError, match="holds checkpoints, but its index .* is missing or damaged"):
        _training(paths, run, tiny_builder, num_steps=4)


def test_a_checkpoint_that_cannot_be_written_is_one_error(photo_folder, tmp_path, monkeypatch):
    import tensorflow as tf

    training = _training(list_training_images(str(photo_folder)), tmp_path / "run", tiny_builder, num_steps=2)

    def full_disk(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(training.checkpoint_manager, "save", full_disk)
    with pytest.raises(OutputError, match="cannot write a checkpoint to .*checkpoints \\(No space left on device\\)"):
        for _ in training.run():
            pass
