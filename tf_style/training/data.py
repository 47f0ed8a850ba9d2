"""Training photos: finding them, and the tf.data stream of random crops.

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import tensorflow as tf

from tf_style.errors import ImageError

# What tf.io.decode_image reads.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def list_training_images(folder: str) -> list[str]:
    """The image files in `folder` and its subfolders that can be opened, sorted.

    Files that are not images, are empty, or are cut short anywhere are skipped
    with a warning, not an error: each file is decoded once, at reduced size
    where the format allows (JPEG), so a file the training pipeline could not
    decode never reaches it (a folder of nothing else would starve it).

    Raises:
        ImageError: the folder is missing or holds no usable image.
    """
    from PIL import Image

    if not os.path.isdir(folder):
        raise ImageError(f"training image folder not found: {folder}")
    candidates = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS
    )
    usable = []
    for path in candidates:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (64, 64))  # JPEG: decode at 1/8 size; still reads every byte.
                image.load()
            usable.append(path)
        except Exception as error:  # Pillow raises many kinds; any of them means "skip it".
            warnings.warn(f"skipping {path}: not a readable image ({type(error).__name__})", stacklevel=2)
    if not usable:
        raise ImageError(f"no readable training images (.jpg, .png, ...) in {folder}")
    return usable


def make_photo_dataset(
    paths: Sequence[str], crop_size: int, batch_size: int, seed: int, start_index: int = 0
) -> tf.data.Dataset:
    """An endless stream of batches of random square crops of the photos.

    The stream is a deterministic function of `seed`: photos are shuffled once
    per pass and crop positions and flips are drawn with stateless random ops
    keyed by the photo's position in the stream, so starting at `start_index`
    (photos already used) continues it exactly. Photos whose data cannot be
    decoded are dropped.

    Args:
        paths: Image files.
        crop_size: Side of the crops. Photos are first resized so their shorter side is `crop_size`.
        batch_size: Crops per batch.
        seed: Seeds the order, the crops and the flips.
        start_index: Number of photos of the stream to skip.

    Returns:
        A ``tf.data.Dataset`` of float32 (batch_size, crop_size, crop_size, 3) in [0, 1].
    """
    files = tf.data.Dataset.from_tensor_slices(list(paths))
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    stream = files.enumerate().skip(start_index)  # Skipping file names costs nothing.

    def load_crop(index, path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = crop_size / tf.reduce_min(shape)
        new_size = tf.cast(tf.math.ceil(shape * scale), tf.int32)
        image = tf.image.resize(image, tf.maximum(new_size, crop_size), antialias=True)
        item_seed = tf.stack([tf.cast(seed, tf.int64), index])
        image = tf.image.stateless_random_crop(image, (crop_size, crop_size, 3), seed=item_seed)
        image = tf.image.stateless_random_flip_left_right(image, seed=item_seed + 1)
        return tf.clip_by_value(image, 0.0, 1.0)

    options = tf.data.Options()
    options.deterministic = True
    crops = stream.map(load_crop, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    return crops.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE).with_options(options)
