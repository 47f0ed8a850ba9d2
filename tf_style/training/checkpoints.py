"""Checkpoints to resume from: finding the latest, telling a damaged one, and whether saved weights fit a network."""

from __future__ import annotations

import gc
import glob
import logging
import os

import keras
import tensorflow as tf

from tf_style.errors import ModelError, first_line


def network_fits_checkpoint(network: keras.Model, path: str, key: str) -> bool:
    """Whether the checkpoint at `path` restores `key` into a copy of `network` (the network is not touched).

    A restore that fails half-way leaves values pending on the objects it reached, and
    TensorFlow lists each of them in a warning when they are collected: trying on a
    copy lets that happen now, quietly, instead of after the error message.
    """
    copy = keras.models.clone_model(network)
    fits = _restores(tf.train.Checkpoint(**{key: copy}), path)
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        del copy
        gc.collect()
    finally:
        logger.setLevel(level)
    return fits


def architecture(network: keras.Model) -> list:
    """Each layer's name, kind, settings and weight shapes: what decides whether weights carry over."""
    return [
        (
            layer.name,
            type(layer).__name__,
            {key: value for key, value in layer.get_config().items() if not key.endswith("initializer")},
            [tuple(weight.shape) for weight in layer.weights],
        )
        for layer in network.layers
    ]


def _restores(checkpoint: tf.train.Checkpoint, path: str) -> bool:
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
        return True
    except (ValueError, AssertionError, tf.errors.OpError):
        return False


def latest_checkpoint(directory: str) -> str | None:
    """The newest checkpoint's path prefix in `directory` (None when it holds none).

    Raises:
        ModelError: `directory` holds checkpoint files but its index of them (the
            file ``checkpoint``) is missing or damaged: resuming from a guess, or
            starting over at step 0 beside them, would both be wrong.
    """
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # TensorFlow warns about a damaged index; the error below says it once.
    try:
        latest = tf.train.latest_checkpoint(directory)
    except (tf.errors.OpError, ValueError) as error:
        raise ModelError(
            f"the checkpoint index in {directory} cannot be read ({first_line(error)}); move "
            "the folder away, or use a new output folder"
        ) from None
    finally:
        logger.setLevel(level)
    if latest is None and glob.glob(os.path.join(directory, "ckpt-*.index")):
        raise ModelError(
            f"{directory} holds checkpoints, but its index (the file 'checkpoint') is missing or "
            "damaged; restore it to resume, or use a new output folder"
        )
    return latest


def check_readable(path: str) -> None:
    """Reads every tensor of the checkpoint at `path` (a few MB for these networks).

    Raises:
        ModelError: a file of it is missing, truncated or corrupt.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # TensorFlow raises OpError, IndexError and others for damaged files.
        raise ModelError(
            f"the checkpoint {path} is damaged ({type(error).__name__}: {first_line(error)}); "
            "move it away to resume from an earlier one, or use a new output folder"
        ) from None
