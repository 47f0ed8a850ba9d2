"""What the loss network sees beyond the picture's border.

VGG pads every convolution with zeros, so features near the border see a black
frame the picture does not have. Optimising a picture against those features
paints a line along the border: measured on 384 px pictures (Kodak photos
without their own dark frame), the mean colour step between the outer 2 pixels
and the next 4 reached 24-54/255 on the side worst hit, against 1-14/255 in the
photos (docs/benchmarks.md). So the picture is padded first, by reflection (the
border's neighbourhood continues as it is) or by wrapping around (the picture is
one tile of a plane: tileable textures), and the padded margin is cropped off
every feature map again, so each position counts once. Keeping the margin's
features was 15 % faster and looked the same on photos, but it counts a band
along the border twice: a texture (no photo to hold it) then put the painting's
contrast into a frame 16 pixels wide and left its middle hazy
(docs/benchmarks.md).

The margin is the deepest layer's stride (16 pixels up to block5), so that it is
a whole number of feature pixels at every layer; 8 pixels left more of the line.
Images are (B, H, W, C) in any range; H and W must exceed the margin. Written in
`keras.ops`, so it runs on every Keras backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

BOUNDARIES = ("reflect", "wrap", "zeros")

Tensor = Any  # A tensor of the Keras backend (tf.Tensor under TensorFlow).


def pad_images(images: Tensor, margin: int, boundary: str) -> Tensor:
    """`images` (B, H, W, C) with `margin` pixels added on every side.

    Args:
        images: The batch; H and W larger than `margin`.
        margin: Pixels per side; 0 returns `images`.
        boundary: "reflect" (mirrored about the edge pixel, which is not repeated),
            "wrap" (the opposite side's pixels) or "zeros" (returns `images`:
            the convolutions' own zero padding stays in force).

    Raises:
        ValueError: an unknown boundary.
    """
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary {boundary!r}; choose one of {', '.join(BOUNDARIES)}")
    if boundary == "zeros" or margin == 0:
        return images
    for axis in (1, 2):
        length = images.shape[axis]
        if boundary == "reflect":
            before = keras.ops.flip(_take(images, axis, 1, margin + 1), axis=axis)
            after = keras.ops.flip(_take(images, axis, length - margin - 1, length - 1), axis=axis)
        else:
            before = _take(images, axis, length - margin, length)
            after = _take(images, axis, 0, margin)
        images = keras.ops.concatenate([before, images, after], axis=axis)
    return images


def crop_features(
    features: Mapping[str, Tensor], margin: int, strides: Mapping[str, int], boundary: str
) -> dict[str, Tensor]:
    """Each feature map (B, h, w, C) without the part computed from the padded margin.

    Args:
        features: {layer: activations} of images padded by `pad_images`.
        margin: The padding; a multiple of every layer's stride.
        strides: {layer: pixels per feature pixel}.
        boundary: As given to `pad_images` ("zeros" crops nothing).
    """
    if boundary == "zeros" or margin == 0:
        return dict(features)
    cropped = {}
    for name, activations in features.items():
        crop = margin // strides[name]
        batch, height, width, channels = activations.shape
        cropped[name] = keras.ops.slice(
            activations, (0, crop, crop, 0), (batch, height - 2 * crop, width - 2 * crop, channels)
        )
    return cropped


def _take(images: Tensor, axis: int, start: int, stop: int) -> Tensor:
    """images[start:stop] along `axis` (1 or 2)."""
    return images[:, start:stop] if axis == 1 else images[:, :, start:stop]
