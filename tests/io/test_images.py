"""Image files: every kind of input that must work, and every bad input."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from tf_style import color
from tf_style.errors import ImageError, OutputError
from tf_style.io import files, images


def _save(path, image, **options):
    image.save(path, **options)
    return str(path)


def test_rgb_png_round_trip(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = _save(tmp_path / "a.png", Image.fromarray(pixels))
    loaded = images.load_image(path)
    assert loaded.dtype == np.float32 and loaded.shape == (20, 30, 3)
    np.testing.assert_allclose(loaded, pixels / 255.0, atol=1e-6)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = _save(tmp_path / "g.png", Image.fromarray(np.full((8, 9), 128, np.uint8), "L"))
    loaded = images.load_image(path)
    assert loaded.shape == (8, 9, 3)
    np.testing.assert_allclose(loaded, 128 / 255.0, atol=1e-6)


def test_rgba_is_composited_on_white(tmp_path):
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[..., 0] = 255  # Red...
    pixels[:, :2, 3] = 255  # ...opaque on the left, fully transparent on the right.
    path = _save(tmp_path / "t.png", Image.fromarray(pixels, "RGBA"))
    loaded = images.load_image(path)
    np.testing.assert_allclose(loaded[:, :2], [[[1, 0, 0]] * 2] * 4, atol=1e-6)
    np.testing.assert_allclose(loaded[:, 2:], 1.0, atol=1e-6)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (6, 6), 0)
    image.putpalette([0, 0, 255] + [255, 0, 0] * 255)
    image.putpixel((0, 0), 1)
    path = _save(tmp_path / "p.png", image, transparency=0)
    loaded = images.load_image(path)
    np.testing.assert_allclose(loaded[0, 0], [1, 0, 0], atol=1e-6)  # Opaque palette entry.
    np.testing.assert_allclose(loaded[3, 3], [1, 1, 1], atol=1e-6)  # Transparent -> white.


def test_sixteen_bit_png_keeps_its_precision(tmp_path):
    values = np.linspace(0, 65535, 4 * 5).reshape(4, 5).astype(np.uint16)
    path = _save(tmp_path / "16.png", Image.fromarray(values))
    loaded = images.load_image(path)
    np.testing.assert_allclose(loaded[..., 0], values / 65535.0, atol=1e-6)


def test_cmyk_jpeg(tmp_path):
    path = _save(tmp_path / "c.jpg", Image.new("CMYK", (16, 16), (0, 255, 255, 0)), quality=100)
    loaded = images.load_image(path)
    np.testing.assert_allclose(loaded.mean(axis=(0, 1)), [1, 0, 0], atol=0.05)  # C=0, M=Y=1: red.


def test_exif_rotated_photo_comes_out_upright(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # Stored landscape, white on the left.
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display.
    path = _save(tmp_path / "r.jpg", image, exif=exif, quality=100)
    loaded = images.load_image(path)
    assert loaded.shape == (40, 20, 3)  # Portrait, as a viewer shows it.
    assert loaded[:20].mean() > 0.9 and loaded[20:].mean() < 0.1  # White on top after rotation.


def test_max_size_shrinks_but_never_enlarges(tmp_path):
    path = _save(tmp_path / "big.png", Image.new("RGB", (200, 100), (10, 20, 30)))
    assert images.load_image(path, max_size=50).shape == (25, 50, 3)
    assert images.load_image(path, max_size=500).shape == (100, 200, 3)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("missing.png", None, "image not found"),
        ("", None, "got a directory"),
        ("empty.png", b"", "image file is empty"),
        ("notes.png", b"hello, not an image", "not an image"),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path, name, data, message):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ImageError, match=message) as error:
        images.load_image(path)
    assert "\n" not in str(error.value)


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as error:
        images.load_image(path)
    assert "\n" not in str(error.value)


def test_decompression_bomb_is_refused(tmp_path):
    path = _save(tmp_path / "bomb.png", Image.new("1", (10_000, 10_000)))  # 100 Mpx in a few kB.
    assert os.path.getsize(path) < 100_000
    with pytest.raises(ImageError, match="decompression bomb"):
        images.load_image(path)


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out.png"
    images.save_image(np.zeros((4, 4, 3)), path)
    with pytest.raises(OutputError, match="exists"):
        images.save_image(np.ones((4, 4, 3)), path)
    assert images.load_image(path).max() == 0.0  # Untouched.

    def failing_write(file):
        file.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OutputError, match="disk full"):
        files.write_atomically(path, failing_write, overwrite=True)
    assert images.load_image(path).max() == 0.0  # The old file survived a failed write...
    assert os.listdir(tmp_path) == ["out.png"]  # ...and no temporary file is left behind.
    images.save_image(np.ones((4, 4, 3)), path, overwrite=True)
    assert images.load_image(path).min() == 1.0


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing_dir/out.png", "folder does not exist"),
        ("out.xyz", "unknown image extension"),
    ],
)
def test_save_errors(tmp_path, name, message):
    with pytest.raises(OutputError, match=message):
        images.save_image(np.zeros((4, 4, 3)), tmp_path / name)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_save_to_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(OutputError, match="not writable"):
        images.save_image(np.zeros((4, 4, 3)), folder / "out.png")


def test_transfer_luminance_keeps_content_chroma():
    rng = np.random.default_rng(0)
    content = rng.uniform(0.3, 0.7, (8, 8, 3)).astype(np.float32)
    stylized = rng.uniform(0.3, 0.7, (8, 8, 3)).astype(np.float32)
    result = color.transfer_luminance(stylized, content)
    to_yiq = color._RGB_TO_YIQ.T
    np.testing.assert_allclose((result @ to_yiq)[..., 0], (stylized @ to_yiq)[..., 0], atol=1e-5)
    np.testing.assert_allclose((result @ to_yiq)[..., 1:], (content @ to_yiq)[..., 1:], atol=1e-5)


def test_match_color_histogram_matches_mean_and_covariance():
    rng = np.random.default_rng(1)
    source = rng.uniform(0.4, 0.6, (32, 32, 3)).astype(np.float32)
    mix = np.array([[1.0, 0.2, 0.0], [0.0, 0.6, 0.1], [0.1, 0.0, 0.3]])
    reference = (0.3 + 0.5 * rng.uniform(0, 1, (40, 40, 3)) @ mix.T * 0.8).astype(np.float32)
    matched = color.match_color_histogram(source, reference)
    flat_m, flat_r = matched.reshape(-1, 3), reference.reshape(-1, 3)
    np.testing.assert_allclose(flat_m.mean(0), flat_r.mean(0), atol=2e-3)
    np.testing.assert_allclose(np.cov(flat_m, rowvar=False), np.cov(flat_r, rowvar=False), atol=2e-3)


def test_color_statistics_of_a_large_image_come_from_a_grid_sample():
    rng = np.random.default_rng(2)
    # 1200 x 1000 = 1.2 megapixels: sampled every 3rd row and column (133,600 pixels).
    rows = np.linspace(0.0, 1.0, 1200)[:, None, None]
    columns = np.linspace(0.0, 1.0, 1000)[None, :, None]
    image = np.clip(
        np.concatenate([rows + 0 * columns, 0.5 * columns + 0 * rows, 0.3 * rows * columns], axis=-1)
        + rng.normal(0.0, 0.05, (1200, 1000, 3)),
        0.0,
        1.0,
    ).astype(np.float32)
    assert color._grid_sample(image).shape == (400, 334, 3)
    mean, covariance = color.color_statistics([image])
    flat = image.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(0), atol=2e-3)
    np.testing.assert_allclose(covariance, np.cov(flat, rowvar=False, bias=True), atol=2e-3)
    np.testing.assert_array_equal(color._grid_sample(image[:512, :512]), image[:512, :512])  # Used whole.
