"""Training photos: finding them, and the tf.data stream of random crops.

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence

import tensorflow as tf

from tf_style.errors import ImageError, first_line
from tf_style.io.images import read_image_header

# What tf.io.decode_image reads.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def list_training_images(folder: str) -> list[str]:
    """The image files in `folder` and its subfolders that training can use, sorted.

    Each file is admitted as every command admits images (its header read first:
    the pixel budget and the aspect ratio of `tf_style.io.images.read_image_header`),
    then decoded once with the decoder the training pipeline uses (`decode_photo`),
    so no file the pipeline cannot read reaches it. Files that fail are skipped
    with a warning naming them.

    Raises:
        ImageError: the folder is missing or holds no usable image.
    """
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
            read_image_header(path)
            decode_photo(tf.io.read_file(path))
            usable.append(path)
        except ImageError as error:
            warnings.warn(f"skipping {path}: {str(error).removesuffix(f': {path}')}", stacklevel=2)
        except tf.errors.OpError as error:
            warnings.warn(f"skipping {path}: TensorFlow cannot decode it ({first_line(error)})", stacklevel=2)
    if not usable:
        raise ImageError(f"no readable training images (.jpg, .png, ...) in {folder}")
    return usable


def photo_list_digest(paths: Sequence[str], folder: str) -> str:
    """SHA-256 of the photos' paths relative to `folder` and their sizes: what a resumed run must find again."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(f"{os.path.relpath(path, folder)}\0{os.path.getsize(path)}\n".encode())
    return digest.hexdigest()


def decode_photo(contents: tf.Tensor) -> tf.Tensor:
    """A photo file's bytes as uint8 (H, W, 3): the training pipeline's decoder (first frame of animations)."""
    return tf.io.decode_image(contents, channels=3, expand_animations=False)


def make_photo_dataset(
    paths: Sequence[str], crop_size: int, batch_size: int, seed: int, start_index: int = 0
) -> tf.data.Dataset:
    """An endless stream of batches of random square crops of the photos.

    The stream is a deterministic function of `seed`: photos are shuffled once
    per pass and crop positions and flips are drawn with stateless random ops
    keyed by the photo's position in the stream, so starting at `start_index`
    (photos already used) continues it exactly.

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
        image = decode_photo(tf.io.read_file(path))
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
    # Across machines each worker reads the same stream and keeps its share of every batch: the
    # stream, and exact resumption, stay what they are on one machine.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # No ignore_errors(): a photo that cannot be read is an error (the trainer names it), not a silent
    # gap that would shift the stream and break exact resumption.
    crops = stream.map(load_crop, num_parallel_calls=tf.data.AUTOTUNE)
    return crops.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE).with_options(options)
