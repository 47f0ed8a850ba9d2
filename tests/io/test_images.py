"""Image files: every kind of input that must work, and every bad input."""

import io
import os

import numpy as np
import pytest
from PIL import Image

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
    as_bytes = images.load_image_uint8(path)
    assert as_bytes.shape == (40, 20, 3) and as_bytes[:20].mean() > 230 and as_bytes[20:].mean() < 25


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_when_reduced_while_decoding(tmp_path, orientation):
    """A large rotated JPEG read far below its size: reduced, then upright, as Pillow itself shows it."""
    from PIL import ImageOps

    y, x = np.mgrid[0:400, 0:1200]
    pixels = np.stack([x * 255 // 1200, y * 255 // 400, np.zeros_like(x)], -1).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = _save(tmp_path / "r.jpg", image, exif=exif, quality=95)
    with Image.open(path) as original:
        expected = np.asarray(ImageOps.exif_transpose(original).convert("RGB"), np.float32) / 255
    loaded = images.load_image(path, max_size=100)
    assert loaded.shape[:2] == images.fit_within(expected.shape[:2], 100)
    # The gradients point the same way: the mean colour of each quarter agrees.
    np.testing.assert_allclose(_quarter_means(loaded), _quarter_means(expected), atol=0.03)


def _quarter_means(image):
    half_height, half_width = image.shape[0] // 2, image.shape[1] // 2
    return [
        image[i * half_height : (i + 1) * half_height, j * half_width : (j + 1) * half_width].mean(axis=(0, 1))
        for i in (0, 1)
        for j in (0, 1)
    ]


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


# Admission: what every command checks before decoding -------------------------------------------


def test_the_header_is_read_before_the_pixels(tmp_path):
    path = _save(tmp_path / "p.png", Image.fromarray(np.zeros((30, 40, 3), np.uint8)))
    header = images.read_image_header(path)
    assert (header.width, header.height, header.format, header.frames) == (40, 30, "PNG", 1)


@pytest.mark.parametrize("size", [(10000, 3), (3, 10000), (1, 30)])
def test_a_strip_is_refused_before_it_is_decoded(tmp_path, size):
    path = _save(tmp_path / "strip.png", Image.new("RGB", size))
    with pytest.raises(ImageError, match=f"image is {size[0]}x{size[1]}, more elongated than 20:1"):
        images.load_image(path)
    with pytest.raises(ImageError, match="more elongated than 20:1"):
        images.read_image_header(path)


def test_a_panorama_is_accepted(tmp_path):
    path = _save(tmp_path / "wide.png", Image.new("RGB", (200, 10)))
    assert images.load_image(path).shape == (10, 200, 3)


def test_animated_images_give_their_first_frame(tmp_path):
    frames = [Image.new("RGB", (12, 10), colour) for colour in ("red", "blue", "green")]
    path = str(tmp_path / "anim.webp")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert images.read_image_header(path).frames == 3
    np.testing.assert_allclose(images.load_image(path)[0, 0], [1.0, 0.0, 0.0], atol=0.01)


@pytest.mark.parametrize("values, expected", [(0.25, 0.25), (200.0, 200 / 255), (30000.0, 30000 / 65535)])
def test_a_32_bit_float_tiff_is_read_in_its_range(tmp_path, values, expected):
    path = str(tmp_path / "float.tif")
    Image.fromarray(np.full((6, 8), values, np.float32), "F").save(path)
    loaded = images.load_image(path)
    assert loaded.shape == (6, 8, 3)
    np.testing.assert_allclose(loaded, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "values, message", [(np.nan, "NaN or infinite"), (-3.0, "outside the ranges"), (1e9, "outside the ranges")]
)
def test_a_float_tiff_out_of_any_picture_range_is_refused(tmp_path, values, message):
    path = str(tmp_path / "float.tif")
    Image.fromarray(np.full((6, 8), values, np.float32), "F").save(path)
    with pytest.raises(ImageError, match=message):
        images.load_image(path)


def test_a_large_file_is_reduced_while_decoding(tmp_path):
    """A 12-megapixel JPEG read at max_size 256 never becomes a 144 MB float array."""
    import tracemalloc

    y, x = np.mgrid[0:3000, 0:4000]
    pixels = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    path = _save(tmp_path / "big.jpg", Image.fromarray(pixels), quality=80)
    del pixels, x, y
    tracemalloc.start()
    try:
        photo = images.load_image(path, max_size=256)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert photo.shape == (192, 256, 3)
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB traced"


def test_bytes_are_the_floats_rounded(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (20, 30, 4), dtype=np.uint8)
    for mode, array in (("RGBA", pixels), ("L", pixels[..., 0])):
        path = _save(tmp_path / f"{mode}.png", Image.fromarray(array, mode))
        as_bytes = images.load_image_uint8(path)
        assert as_bytes.dtype == np.uint8 and as_bytes.shape == (20, 30, 3)
        np.testing.assert_array_equal(as_bytes, images.to_uint8(images.load_image(path)))
    sixteen = _save(tmp_path / "16.png", Image.fromarray(np.full((4, 5), 65535, np.uint16)))
    np.testing.assert_array_equal(images.load_image_uint8(sixteen), 255)
    assert images.load_image_uint8(str(tmp_path / "RGBA.png"), max_size=15).shape == (10, 15, 3)


def test_arrays_are_admitted_as_files_are():
    assert images.check_image_array(np.zeros((4, 60, 3)), "photo").dtype == np.float32
    for array, message in (
        (np.zeros((2, 60, 3)), "more elongated than 20:1"),
        (np.zeros((4, 6)), "must be an \\(height, width, 3\\)"),
        (np.full((4, 4, 3), np.inf), "NaN or infinite"),
        (np.zeros((0, 5, 3)), "no pixels"),
    ):
        with pytest.raises(ImageError, match=message):
            images.check_image_array(array, "photo")


@pytest.mark.parametrize("name", ["out.gif2", "out", "out.json"])
def test_an_unknown_output_extension_is_found_before_any_work(name):
    with pytest.raises(OutputError, match="unknown image extension"):
        images.check_image_output(name)
