"""What the loss network sees beyond the picture's border.

VGG pads every convolution with zeros, so features near the border see a black
frame the picture does not have. Optimising a picture against those features
paints a line along the border: measured on 384 px pictures (Kodak photos
without their own dark frame), the mean colour step between the outer 2 pixels
and the next 4 reached 24-54/255 on the side worst hit, against 1-14/255 in the
photos (docs/benchmarks.md). So the picture is padded first, by reflection (the
border's neighbourhood continues as it is) or by wrapping around (the picture is
one tile of a plane: tileable textures), and the padded margin is cropped off
every feature map again, so each feature counts once.

The margin is the deepest layer's stride (16 pixels up to block5), so that it is
a whole number of feature pixels at every layer. Images are (B, H, W, C) in
any range; H and W must exceed the margin. Written in `keras.ops`, so it runs
on every Keras backend.
"""

from __future__ import annotations

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


def _take(images: Tensor, axis: int, start: int, stop: int) -> Tensor:
    """images[start:stop] along `axis` (1 or 2)."""
    return images[:, start:stop] if axis == 1 else images[:, :, start:stop]
