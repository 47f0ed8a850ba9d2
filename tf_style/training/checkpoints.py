"""Whether saved weights fit a network: checkpoints to resume from, models to start from."""

from __future__ import annotations

import gc
import logging

import keras
import tensorflow as tf


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
