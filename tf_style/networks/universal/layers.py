"""Keras layers around the feature transforms, so the universal networks are Keras models that export to TFLite.

Each wraps a function of `tf_style.networks.universal.transforms` (TensorFlow
ops: matrix products, means, square roots; no eigendecomposition). Features are
float32 ``(B, H, W, C)``; statistics ``(B, C)`` and ``(B, C, C)``, batch 1 for
one painting applied to every photo.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_style.networks.layers import nearest_upsampled
from tf_style.networks.universal import smoothing, transforms


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
        # Both transforms are affine maps of the features; the blend is folded into the map, so the
        # features are read once and written once (at 1024 px, relu1_1 features are 285 MB a copy).
        strength = tf.reshape(tf.cast(strength, tf.float32), (-1, 1))
        if self.transform == "wct":
            matrix, offset = transforms.blend_with_identity(*transforms.wct_affine(features, mean, spread), strength)
            return transforms.apply_affine(features, matrix, offset)
        scale, shift = transforms.adain_scale_and_shift(features, mean, spread)
        scale, shift = strength * scale + (1.0 - strength), strength * shift
        return features * scale[:, None, None, :] + shift[:, None, None, :]

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "transform": self.transform}


@keras.saving.register_keras_serializable(package="tf_style")
class ClipToUnit(keras.layers.Layer):
    """Clips a picture to [0, 1] (between levels, and at the end)."""

    def call(self, images):
        return keras.ops.clip(images, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="tf_style")
class MaxUnpooling2x(keras.layers.Layer):
    """``[x (B, h, w, C), activations (B, 2h, 2w, C)]`` -> ``(B, 2h, 2w, C)``: x put back where the maxima were.

    `activations` are what a 2 x 2 max pooling (stride 2) took to ``(h, w)``;
    each value of x goes to the position of its window's maximum, and zero to the
    other three (to every tied position, so an all-zero window gets four copies).
    The positions come from comparing the activations with their pooled values
    upsampled: no argmax indices, so it converts to TFLite with builtin ops.
    """

    def call(self, inputs):
        x, activations = inputs
        activations = keras.ops.cast(activations, x.dtype)
        pooled = keras.ops.max_pool(activations, 2, 2, padding="valid")
        maxima = keras.ops.cast(keras.ops.equal(activations, nearest_upsampled(pooled)), x.dtype)
        return nearest_upsampled(x) * maxima

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[1][:-1], input_shapes[0][-1])


@keras.saving.register_keras_serializable(package="tf_style")
class GuidedFilter(keras.layers.Layer):
    """``[picture, photo]`` (B, H, W, 3) RGB in [0, 1] -> the picture smoothed along the photo's edges.

    `tf_style.networks.universal.smoothing.guided_filter` with a fixed radius and epsilon.
    """

    def __init__(
        self, radius: int = smoothing.SMOOTHING_RADIUS, epsilon: float = smoothing.SMOOTHING_EPSILON, **kwargs
    ):
        super().__init__(**kwargs)
        self.radius = radius
        self.epsilon = epsilon

    def call(self, inputs):
        picture, photo = inputs
        return smoothing.guided_filter(picture, photo, self.radius, self.epsilon)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "epsilon": self.epsilon}
