"""Mask files: grey levels, or one colour of a colour-coded label image."""

import numpy as np
import pytest

from tf_style import masks
from tf_style.errors import ConfigError
from tf_style.io import images


@pytest.fixture
def labels(tmp_path):
    """A label image: the top third red, the middle green, the bottom blue (PNG, exact colours)."""
    image = np.zeros((60, 80, 3), np.float32)
    image[:20] = [1.0, 0.0, 0.0]
    image[20:40] = [0.0, 1.0, 0.0]
    image[40:] = [0.0, 0.0, 1.0]
    path = tmp_path / "labels.png"
    images.save_image(image, str(path))
    return str(path)


def test_a_grey_mask_is_its_grey_level(tmp_path):
    grey = np.full((30, 40, 3), 0.5, np.float32)
    grey[:, :20] = 1.0
    images.save_image(grey, str(tmp_path / "mask.png"))
    mask = masks.load_mask(str(tmp_path / "mask.png"))
    assert mask.shape == (30, 40)
    np.testing.assert_allclose(mask[:, :20], 1.0)
    np.testing.assert_allclose(mask[:, 20:], 0.5, atol=1 / 255)


def test_a_label_colour_picks_its_region(labels):
    green = masks.load_mask(labels + "#00ff00")
    assert green.shape == (60, 80)
    assert green[20:40].min() == 1.0 and green[:20].max() == 0.0 and green[40:].max() == 0.0
    near_blue = masks.load_mask(labels + "#0a00f0")  # Within the tolerance of pure blue.
    assert near_blue[40:].min() == 1.0 and near_blue[:40].max() == 0.0
    assert masks.mask_path(labels + "#00ff00") == labels and masks.mask_path(labels) == labels


def test_a_shrunk_label_mask_has_soft_edges_not_mixed_colours(labels):
    red = masks.load_mask(labels + "#FF0000", max_size=40)
    assert red.shape == (30, 40)
    assert red[:8].min() > 0.99 and red[14:].max() < 0.01 and 0.0 < red[10].mean() < 1.0


def test_a_colour_the_label_image_lacks_is_one_error(labels):
    with pytest.raises(ConfigError, match="has no pixel of colour #ffff00"):
        masks.load_mask(labels + "#ffff00")
