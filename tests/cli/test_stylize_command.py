"""`tf-style stylize` through absl flags (flagsaver), on the tiny extractor."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver
from PIL import Image

from tf_style.backbones import feature_extractor
from tf_style.cli import stylize as stylize_cli
from tf_style.io import images
from tf_style.optimization.image_optimization import ImageOptimization

from conftest import make_painting, make_photo

flags.FLAGS.mark_as_parsed()
FAST = {"max_size": 48, "num_steps": 3, "min_working_size": 0}  # Tiny pictures at their own size.


@pytest.fixture(autouse=True)
def use_tiny_extractor(monkeypatch, tiny_extractor):
    monkeypatch.setattr(feature_extractor, "build_feature_extractor", lambda *args, **kwargs: tiny_extractor)


@pytest.fixture
def pair(tmp_path):
    content, style = str(tmp_path / "photo.png"), str(tmp_path / "painting.jpg")
    images.save_image(make_photo(), content)
    images.save_image(make_painting(), style)
    return content, style


def _cli(capsys, **flag_values):
    """Runs `tf-style stylize` with these flags; returns (exit status, stdout, stderr)."""
    with flagsaver.flagsaver(**flag_values), pytest.raises(SystemExit) as exit_info:
        stylize_cli.main(["tf-style stylize"])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def _assert_one_line_error(status, err, message):
    assert status == 1
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err


def test_demo_run_writes_picture_and_manifest(tmp_path, capsys):
    output = str(tmp_path / "demo.png")
    status, out, err = _cli(capsys, output_image=output, **FAST)
    assert status == 0, err
    assert images.load_image(output).shape == (36, 48, 3)  # The demo landscape is 4:3.
    manifest = json.loads(Path(tmp_path / "demo.json").read_text())
    assert manifest["content_image"] == "demo:landscape" and manifest["style_images"] == ["demo:swirls"]
    assert manifest["config"]["num_steps"] == 3 and manifest["config"]["optimizer"] == "lbfgs"
    assert manifest["steps"] == 3 and manifest["stop_reason"] == "completed"
    assert manifest["final_losses"]["total_loss"] > 0 and manifest["wall_seconds"] > 0
    assert {"tensorflow", "keras", "numpy", "pillow", "python"} <= set(manifest["versions"])
    assert "wrote" in out
    assert "step/s" in err or "s/step" in err  # The progress bar with its rate.
    assert "total_loss=" in err and "content_loss=" in err  # ...and the losses.


def test_flags_reach_the_config(pair, tmp_path, capsys):
    content, style = pair
    output = str(tmp_path / "out.jpg")
    status, _, err = _cli(
        capsys,
        content_image=content,
        style_image=[style, style],
        style_blend=["2", "1"],
        style_layers=["conv1_1:0.5", "relu2_1"],
        content_layers=["conv4_2"],
        optimizer="adam",
        learning_rate=0.05,
        preserve_colors="luminance",
        seed=3,
        init="noise",
        init_noise=0.05,
        lbfgs_memory=7,
        lbfgs_scaling="scalar",
        output_image=output,
        **FAST,
    )
    assert status == 0, err
    config = json.loads(Path(tmp_path / "out.json").read_text())["config"]
    assert config["style_blend"] == [2.0, 1.0] and config["style_layers"] == ["conv1_1", "relu2_1"]
    assert config["style_layer_weights"] == [0.5, 1.0] and config["learning_rate"] == 0.05
    assert config["preserve_colors"] == "luminance" and config["init"] == "noise" and config["seed"] == 3
    assert config["lbfgs_memory"] == 7 and config["init_noise"] == 0.05 and config["lbfgs_scaling"] == "scalar"
    assert images.load_image(output).shape == (36, 48, 3)


def test_a_small_picture_is_optimised_at_the_working_size_from_the_photo_s_own_pixels(
    pair, tmp_path, capsys, monkeypatch
):
    content, style = pair  # The photo file is 64 pixels wide: read at 64, not at 48 and enlarged.
    output = str(tmp_path / "out.png")
    read_sizes = {}
    load_image = images.load_image

    def recording_load_image(path, max_size=None):
        read_sizes[path] = max_size
        return load_image(path, max_size=max_size)

    monkeypatch.setattr(images, "load_image", recording_load_image)
    values = {**FAST, "max_size": 48, "min_working_size": 64}
    status, _, err = _cli(capsys, content_image=content, style_image=[style], output_image=output, **values)
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "out.json").read_text())
    assert manifest["config"]["min_working_size"] == 64 and manifest["scale_sizes"] == [[48, 64]]
    assert images.load_image(output).shape == (36, 48, 3)
    assert read_sizes[content] == 64 and read_sizes[style] == 64


def test_save_every_writes_snapshots(pair, tmp_path, capsys):
    content, style = pair
    pattern = str(tmp_path / "frame_{step:03d}.png")
    status, _, err = _cli(
        capsys,
        content_image=content,
        style_image=[style],
        output_image=str(tmp_path / "o.png"),
        save_every=2,
        save_pattern=pattern,
        max_size=48,
        num_steps=5,
    )
    assert status == 0, err
    assert sorted(name for name in os.listdir(tmp_path) if name.startswith("frame")) == [
        "frame_002.png",
        "frame_004.png",
    ]


def test_existing_output_is_refused_unless_overwrite(pair, tmp_path, capsys):
    content, style = pair
    output = tmp_path / "keep.png"
    output.write_bytes(b"precious")
    status, _, err = _cli(capsys, content_image=content, style_image=[style], output_image=str(output), **FAST)
    _assert_one_line_error(status, err, "output file exists (pass --overwrite")
    assert output.read_bytes() == b"precious"
    status, _, err = _cli(
        capsys, content_image=content, style_image=[style], output_image=str(output), overwrite=True, **FAST
    )
    assert status == 0 and images.load_image(output).shape == (36, 48, 3)


def _bad_file(tmp_path, kind):
    path = tmp_path / f"bad_{kind}.jpg"
    if kind == "missing":
        return str(path), "image not found"
    if kind == "directory":
        return str(tmp_path), "got a directory"
    if kind == "empty":
        path.write_bytes(b"")
        return str(path), "image file is empty"
    if kind == "not_image":
        path.write_text("just text")
        return str(path), "not an image"
    if kind == "truncated":
        Image.fromarray((make_photo() * 255).astype(np.uint8)).save(path, quality=90)
        path.write_bytes(path.read_bytes()[:300])
        return str(path), "truncated or corrupt"
    if kind == "bomb":
        path = tmp_path / "bomb.png"
        Image.new("1", (10_000, 10_000)).save(path)
        return str(path), "decompression bomb"
    raise AssertionError(kind)


@pytest.mark.parametrize("role", ["content_image", "style_image"])
@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "not_image", "truncated", "bomb"])
def test_bad_image_files(pair, tmp_path, capsys, role, kind):
    content, style = pair
    bad, message = _bad_file(tmp_path, kind)
    values = {"content_image": content, "style_image": [style]}
    values[role] = bad if role == "content_image" else [style, bad]
    status, _, err = _cli(capsys, output_image=str(tmp_path / "out.png"), **values, **FAST)
    _assert_one_line_error(status, err, message)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "flag_values, message",
    [
        ({"style_layers": ["conv1_1", "conv9_9"]}, "unknown layer 'conv9_9'"),
        ({"content_layers": ["fc7"]}, "unknown layer 'fc7'"),
        ({"style_weight": 0.0}, "style_weight must be > 0"),
        ({"style_weight": -3.0}, "style_weight must be > 0"),
        ({"content_weight": -1.0}, "content_weight must be >= 0"),
        ({"style_layers": ["conv1_1:-1"]}, "style_layer_weights must be > 0"),
        ({"style_layers": ["conv1_1:heavy"]}, "weight of 'conv1_1' is not a number"),
        ({"style_blend": ["1", "2"]}, "style_blend has 2 weights for 1 style images"),
        ({"style_blend": ["0"]}, "style_blend must be > 0"),
        ({"init": "/no/such/image.png"}, "init must be one of"),
        ({"output_image": "/no/such/folder/out.png"}, "output folder does not exist"),
        ({"output_image": "out.gif2"}, "unknown image extension"),
        ({"save_every": 1, "save_pattern": "frame.png"}, "needs a {step} field"),
        ({"style_loss": ["gram", "fancy"]}, "style_loss must be one of gram, sliced_wasserstein"),
        ({"style_loss": ["gram:heavy"]}, "--style_loss: weight of 'gram' is not a number"),
    ],
)
def test_bad_settings(pair, tmp_path, capsys, flag_values, message):
    content, style = pair
    values = {"content_image": content, "style_image": [style], "output_image": str(tmp_path / "o.png"), **FAST}
    values.update(flag_values)
    if not values["output_image"].startswith("/"):
        values["output_image"] = str(tmp_path / values["output_image"])
    status, _, err = _cli(capsys, **values)
    _assert_one_line_error(status, err, message)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_output_folder_not_writable(pair, tmp_path, capsys):
    content, style = pair
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    status, _, err = _cli(
        capsys, content_image=content, style_image=[style], output_image=str(locked / "o.png"), **FAST
    )
    _assert_one_line_error(status, err, "not writable")


def test_ctrl_c_writes_the_current_picture(pair, tmp_path, capsys, monkeypatch):
    original_run = ImageOptimization.run

    def interrupted_run(self):
        for index, progress in enumerate(original_run(self)):
            if index == 2:
                raise KeyboardInterrupt
            yield progress

    monkeypatch.setattr(ImageOptimization, "run", interrupted_run)
    content, style = pair
    output = tmp_path / "o.png"
    status, _, err = _cli(
        capsys, content_image=content, style_image=[style], output_image=str(output), max_size=48, num_steps=50
    )
    assert status == 130 and "interrupted at step 3" in err and "Traceback" not in err
    assert images.load_image(output).shape == (36, 48, 3)
    manifest = json.loads(Path(tmp_path / "o.json").read_text())
    assert manifest["stop_reason"] == "interrupted" and manifest["steps"] == 3


def test_nan_loss_stops_with_an_error_and_keeps_the_last_good_picture(pair, tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    original = ImageOptimization._losses
    calls = tf.Variable(0)

    def poisoned(self, image, targets):
        losses = original(self, image, targets)
        calls.assign_add(1)
        return {**losses, "total_loss": losses["total_loss"] + tf.where(calls > 2, np.nan, 0.0)}

    monkeypatch.setattr(ImageOptimization, "_losses", poisoned)
    content, style = pair
    output = tmp_path / "o.png"
    status, _, err = _cli(
        capsys,
        content_image=content,
        style_image=[style],
        output_image=str(output),
        optimizer="adam",
        max_size=48,
        num_steps=20,
    )
    _assert_one_line_error(status, err, "loss became NaN or infinite at step 3")
    picture = images.load_image(output)
    assert picture.shape == (36, 48, 3) and np.isfinite(picture).all()


def test_flag_parsing_errors_exit_nonzero_without_traceback(tmp_path):
    """Real absl parsing in a subprocess: bounds on --num_steps, unknown enum values, stray arguments."""
    for arguments, message in (
        (["--num_steps=0"], "num_steps"),
        (["--optimizer=sgd"], "optimizer"),
        (["stray"], "unexpected arguments"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "tf_style.cli.main", "stylize", *arguments, f"--output_image={tmp_path / 'o.png'}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode != 0
        assert message in completed.stderr and "Traceback" not in completed.stderr


def test_unknown_command():
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", "paint"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == "tf-style: error: unknown command 'paint'; choose one of stylize, train, apply"


def test_ctrl_c_before_the_first_step_writes_nothing(pair, tmp_path, capsys, monkeypatch):
    def interrupted_at_once(self):
        raise KeyboardInterrupt
        yield  # A generator, like the real run().

    monkeypatch.setattr(ImageOptimization, "run", interrupted_at_once)
    content, style = pair
    status, _, err = _cli(
        capsys, content_image=content, style_image=[style], output_image=str(tmp_path / "o.png"), **FAST
    )
    assert status == 130 and "interrupted before the first step; nothing written" in err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o.json").exists()


def test_a_texture_takes_output_size_and_no_photo(pair, tmp_path, capsys):
    _, style = pair
    output = str(tmp_path / "texture.png")
    status, _, err = _cli(
        capsys, style_image=[style], output_size="80x48", tileable=True, num_steps=3, output_image=output
    )
    assert status == 0, err
    assert images.load_image(output).shape == (48, 80, 3)
    manifest = json.loads(Path(tmp_path / "texture.json").read_text())
    assert manifest["content_image"] is None
    assert manifest["config"]["output_size"] == [48, 80] and manifest["config"]["boundary"] == "wrap"
    assert "content_loss" not in manifest["final_losses"]


@pytest.mark.parametrize(
    "flag_values, message",
    [
        ({"output_size": "80by48"}, "--output_size must be WIDTHxHEIGHT"),
        ({"output_size": "80x"}, "--output_size must be WIDTHxHEIGHT"),
        ({"output_size": "80x16"}, "output_size must be a whole number >= 32"),
        ({"output_size": "4096x4096"}, "larger than 2048 pixels a side"),
        ({"output_size": "80x48", "preserve_colors": "luminance"}, "preserve_colors needs a photo"),
        ({"output_size": "80x48", "photorealistic": True}, "photorealistic needs a photo"),
        ({"output_size": "80x48", "content_image": "PHOTO"}, "with --content_image use --max_size"),
        ({"tileable": True, "boundary": "zeros"}, "cannot be combined with --boundary=zeros"),
    ],
)
def test_bad_texture_settings(pair, tmp_path, capsys, flag_values, message):
    content, style = pair
    values = {"style_image": [style], "output_image": str(tmp_path / "o.png"), "num_steps": 1, **flag_values}
    if values.get("content_image") == "PHOTO":
        values["content_image"] = content
    status, _, err = _cli(capsys, **values)
    _assert_one_line_error(status, err, message)
    assert not (tmp_path / "o.png").exists()


def test_style_losses_mix_from_the_command_line(pair, tmp_path, capsys):
    content, style = pair
    output = str(tmp_path / "mix.png")
    values = {"content_image": content, "style_image": [style], "output_image": output, **FAST}
    status, _, err = _cli(capsys, style_loss=["gram:3", "sliced_wasserstein:1", "histogram", "mrf"], **values)
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "mix.json").read_text())
    assert manifest["config"]["style_loss"] == ["gram", "sliced_wasserstein", "histogram", "mrf"]
    assert manifest["config"]["style_loss_weights"] == [3.0, 1.0, 1.0, 1.0]
    for key in ("style_loss", "sliced_wasserstein_loss", "histogram_loss", "mrf_loss"):
        assert manifest["final_losses"][key] > 0


def _half_masks(tmp_path):
    """Masks of the 64 x 48 photo's left and right halves, saved; returns their paths and the left one."""
    left = np.zeros((48, 64, 3), np.float32)
    left[:, :32] = 1.0
    images.save_image(left, str(tmp_path / "left.png"))
    images.save_image(1.0 - left, str(tmp_path / "right.png"))
    return [str(tmp_path / "left.png"), str(tmp_path / "right.png")], left


def test_photorealistic_from_the_command_line_with_masks(pair, tmp_path, capsys):
    content, style = pair
    masks, _ = _half_masks(tmp_path)
    output = str(tmp_path / "photoreal.png")
    values = {"content_image": content, "style_image": [style, style], "output_image": output, **FAST}
    status, _, err = _cli(capsys, photorealistic=True, photorealism_weight=500.0, style_mask=masks, **values)
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "photoreal.json").read_text())
    assert manifest["config"]["photorealistic"] is True and manifest["config"]["photorealism_weight"] == 500.0
    assert manifest["final_losses"]["photorealism_loss"] > 0
    values["output_image"] = str(tmp_path / "bad.png")
    status, _, err = _cli(capsys, photorealistic=True, photorealism_weight=0.0, **values)
    _assert_one_line_error(status, err, "photorealism_weight must be > 0")


def test_tiles_from_the_command_line(pair, tmp_path, capsys):
    content, style = pair
    output = str(tmp_path / "tiled.png")
    values = {"content_image": content, "style_image": [style], "output_image": output, "num_steps": 2}
    values["min_working_size"] = 0  # The photo's own 64 x 48.
    status, _, err = _cli(capsys, tile_size=32, tile_overlap=8, tile_steps=1, save_every=3, **values)
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "tiled.json").read_text())
    assert manifest["config"]["tile_size"] == 32 and manifest["config"]["tile_steps"] == 1
    assert manifest["steps"] == 6  # 2 x 3 tiles of 32 x 32 over the 64 x 48 photo, one step each.
    assert [Path(path).name for path in manifest["snapshots"]] == ["tiled_step00003.png", "tiled_step00006.png"]
    assert images.load_image(output).shape == (48, 64, 3)
    values["output_image"] = str(tmp_path / "bad.png")
    status, _, err = _cli(capsys, tile_size=16, tile_overlap=8, **values)
    _assert_one_line_error(status, err, "tile_size must be at least the 32 pixels the network needs")


def test_masks_in_tiles_from_the_command_line(pair, tmp_path, capsys):
    content, style = pair
    (left, _), _ = _half_masks(tmp_path)
    top = np.zeros((48, 64, 3), np.float32)
    top[:24] = 1.0
    masks = [str(tmp_path / "top.png"), str(tmp_path / "bottom.png")]
    images.save_image(top, masks[0])
    images.save_image(1.0 - top, masks[1])
    output = str(tmp_path / "tiled_masks.png")
    values = {"content_image": content, "style_image": [style, style], "output_image": output, "num_steps": 2}
    values["min_working_size"] = 0  # The photo's own 64 x 48.
    status, _, err = _cli(capsys, style_mask=masks, content_mask=left, tile_size=32, tile_overlap=8, **values)
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "tiled_masks.json").read_text())
    assert manifest["steps"] == 12 and manifest["style_masks"] == masks  # 2 x 3 tiles, two steps each.
    picture, photo = images.load_image(output), images.load_image(content)
    # Outside the content mask (the right half) the picture is the photo.
    np.testing.assert_allclose(picture[:, 36:], photo[:, 36:], atol=2 / 255)
    assert np.abs(picture[:, :28] - photo[:, :28]).mean() > 0.01


def test_masks_from_the_command_line(pair, tmp_path, capsys):
    content, style = pair
    _, left = _half_masks(tmp_path)
    images.save_image(left[:32], str(tmp_path / "wide.png"))
    output = str(tmp_path / "masked.png")
    values = {"content_image": content, "style_image": [style, style], "output_image": output, **FAST}
    status, _, err = _cli(
        capsys,
        style_mask=[str(tmp_path / "left.png"), str(tmp_path / "right.png")],
        content_mask=str(tmp_path / "left.png"),
        **values,
    )
    assert status == 0, err
    manifest = json.loads(Path(tmp_path / "masked.json").read_text())
    assert manifest["style_masks"] == [str(tmp_path / "left.png"), str(tmp_path / "right.png")]
    assert manifest["content_mask"] == str(tmp_path / "left.png")
    values["output_image"] = str(tmp_path / "bad.png")
    status, _, err = _cli(capsys, content_mask=str(tmp_path / "wide.png"), **values)
    _assert_one_line_error(status, err, "a mask must have the photo's shape")
    assert not (tmp_path / "bad.png").exists()


def test_one_label_image_holds_every_region(pair, tmp_path, capsys):
    content, style = pair
    labels = np.zeros((48, 64, 3), np.float32)
    labels[:, :32] = [1.0, 0.0, 0.0]
    labels[:, 32:] = [0.0, 0.0, 1.0]
    images.save_image(labels, str(tmp_path / "labels.png"))
    output = str(tmp_path / "labelled.png")
    values = {"content_image": content, "style_image": [style, style], "output_image": output, **FAST}
    label = str(tmp_path / "labels.png")
    status, _, err = _cli(capsys, style_mask=[label + "#ff0000", label + "#0000ff"], **values)
    assert status == 0, err
    values["output_image"] = str(tmp_path / "none.png")
    status, _, err = _cli(capsys, style_mask=[label + "#ff0000", label + "#00ff00"], **values)
    _assert_one_line_error(status, err, "has no pixel of colour #00ff00")
    assert not (tmp_path / "none.png").exists()
