"""Keras layers around the feature transforms, so the universal networks are Keras models that export to TFLite.

Each wraps a function of `tf_style.networks.universal.transforms` (TensorFlow
ops: matrix products, means, square roots; no eigendecomposition). Features are
float32 ``(B, H, W, C)``; statistics ``(B, C)`` and ``(B, C, C)``, batch 1 for
one painting applied to every photo.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_style.networks.universal import transforms


@keras.saving.register_keras_serializable(package="tf_style")
class StyleStatistics(keras.layers.Layer):
    """A painting's features -> what its transform needs: WCT ``(mean, covariance root)``, AdaIN ``(mean, std)``."""

    def __init__(self, transform: str = "wct", **kwargs):
        super().__init__(**kwargs)
        self.transform = transform

    def call(self, features):
        features = tf.cast(features, tf.float32)
        if self.transform == "wct":
            return transforms.style_statistics(features)
        return transforms.mean_and_std(features)

    def get_config(self):
        return {**super().get_config(), "transform": self.transform}


@keras.saving.register_keras_serializable(package="tf_style")
class FeatureTransform(keras.layers.Layer):
    """``[photo features, painting mean, painting root or std, style strength (B, 1)]`` -> transformed features.

    WCT or AdaIN to the painting's statistics, then blended with the untransformed
    features: ``strength * transformed + (1 - strength) * features``.
    """

    def __init__(self, transform: str = "wct", **kwargs):
        super().__init__(**kwargs)
        self.transform = transform

    def call(self, inputs):
        features, mean, spread, strength = inputs
        features = tf.cast(features, tf.float32)
        if self.transform == "wct":
            transformed = transforms.wct(features, mean, spread)
        else:
            transformed = transforms.adain(features, mean, spread)
        strength = tf.reshape(tf.cast(strength, tf.float32), (-1, 1, 1, 1))
        return strength * transformed + (1.0 - strength) * features

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "transform": self.transform}


@keras.saving.register_keras_serializable(package="tf_style")
class ClipToUnit(keras.layers.Layer):
    """Clips a picture to [0, 1] (between levels, and at the end)."""

    def call(self, images):
        return keras.ops.clip(images, 0.0, 1.0)
