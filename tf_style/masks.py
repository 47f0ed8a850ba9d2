"""Mask files: a grey-level image, or one colour of a colour-coded label image.

A mask is float32 (H, W) in [0, 1]: 1 where a painting's style (or any style,
for the content mask) goes. On the command line a mask is named by its file,
``sky.png`` (its grey level), or by a label image and one of its colours,
``labels.png#1e90ff`` (1 where the label image has that colour, within
`COLOR_TOLERANCE` in each channel): one label image then holds every region.
"""

from __future__ import annotations

import re

import numpy as np

from tf_style.errors import ConfigError
from tf_style.io import images

COLOR_TOLERANCE = 24  # Per channel, 0-255: JPEG and resizing blur a label's colour a little.
_LABEL = re.compile(r"^(?P<path>.+)#(?P<color>[0-9a-fA-F]{6})$")


def mask_path(spec: str) -> str:
    """The file a mask `spec` reads (``labels.png#1e90ff`` -> ``labels.png``)."""
    match = _LABEL.match(spec)
    return spec if match is None else match["path"]


def load_mask(spec: str, max_size: int | None = None) -> np.ndarray:
    """The mask `spec` names: ``path`` (grey level) or ``path#rrggbb`` (one colour of a label image).

    Args:
        spec: The file, optionally with ``#`` and a colour in hex.
        max_size: Shrink the mask so its longer side is at most this (after the
            colour is picked, so region edges stay soft, not mixed colours).

    Raises:
        ImageError: the file cannot be read.
        ConfigError: a label colour the image does not have.
    """
    match = _LABEL.match(spec)
    if match is None:
        return images.load_image(spec, max_size=max_size).mean(axis=-1)
    color = np.array([int(match["color"][index : index + 2], 16) for index in (0, 2, 4)])
    labels = images.load_image_uint8(match["path"]).astype(np.int16)
    mask = (np.abs(labels - color).max(axis=-1) <= COLOR_TOLERANCE).astype(np.float32)
    if not mask.any():
        raise ConfigError(f"the label image {match['path']} has no pixel of colour #{match['color']}")
    if max_size is not None and max(mask.shape) > max_size:
        mask = resize_mask(mask, images.fit_within(mask.shape, max_size))
    return mask


def resize_mask(mask: np.ndarray, size) -> np.ndarray:
    """A (H, W) mask in [0, 1] resized to `size` = (height, width) (antialiased), still in [0, 1]."""
    if tuple(mask.shape) == tuple(size):
        return mask
    import tensorflow as tf  # Deferred, as in `tf_style.io.images.resize_image`.

    resized = tf.image.resize(mask[..., None], tuple(int(side) for side in size), method="bilinear", antialias=True)
    return np.clip(resized.numpy()[..., 0], 0.0, 1.0).astype(np.float32)
