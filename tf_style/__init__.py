"""tf_style: neural style transfer in TensorFlow 2 / Keras 3: image and model optimisation.

Images at the API are float32 NumPy arrays (height, width, 3), RGB in [0, 1].
Names are imported lazily, so ``import tf_style`` does not start TensorFlow.

Example:
    >>> import tf_style
    >>> photo = tf_style.load_image("photo.jpg")  # doctest: +SKIP
    >>> painting = tf_style.load_image("painting.jpg")  # doctest: +SKIP
    >>> result = tf_style.stylize(photo, painting, tf_style.StylizeConfig(backbone="vgg16_hed"))  # doctest: +SKIP
    >>> tf_style.save_image(result.image, "stylized.png")  # doctest: +SKIP
    >>> paint = tf_style.load_style_model("starry_night")  # doctest: +SKIP
    >>> tf_style.save_image(tf_style.apply_style(paint, photo), "fast.png")  # doctest: +SKIP
    >>> like = tf_style.load_painting_style([painting])  # any painting, no training  # doctest: +SKIP
    >>> tf_style.save_image(tf_style.apply_style(like, photo), "any.png")  # doctest: +SKIP
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "tf_style.errors",
    "ImageError": "tf_style.errors",
    "ModelError": "tf_style.errors",
    "OutputError": "tf_style.errors",
    "StyleTransferError": "tf_style.errors",
    "WeightsError": "tf_style.errors",
    "load_image": "tf_style.io.images",
    "save_image": "tf_style.io.images",
    "match_color_histogram": "tf_style.color",
    "transfer_luminance": "tf_style.color",
    "demo_content_image": "tf_style.demo",
    "demo_style_image": "tf_style.demo",
    "FeatureExtractor": "tf_style.backbones.feature_extractor",
    "build_feature_extractor": "tf_style.backbones.feature_extractor",
    "resolve_layer_name": "tf_style.backbones.vgg",
    "LossConfig": "tf_style.losses.config",
    "Objective": "tf_style.losses.objective",
    "StylizeConfig": "tf_style.optimization.config",
    "ImageOptimization": "tf_style.optimization.image_optimization",
    "Progress": "tf_style.optimization.image_optimization",
    "StylizeResult": "tf_style.optimization.image_optimization",
    "stylize": "tf_style.optimization.image_optimization",
    "TransformNet": "tf_style.networks.johnson.transform_net",
    "build_transform_net": "tf_style.networks.johnson.transform_net",
    "FastStyleTraining": "tf_style.training.fast_style",
    "TrainConfig": "tf_style.training.config",
    "convert_to_tflite": "tf_style.export.tflite",
    "TFLiteRunner": "tf_style.inference.runners",
    "apply_style": "tf_style.inference.apply",
    "load_style_model": "tf_style.inference.apply",
    "shipped_styles": "tf_style.inference.registry",
    "load_painting_style": "tf_style.inference.universal",
    "load_universal_model": "tf_style.inference.universal",
    "UniversalStyleTransfer": "tf_style.networks.universal.model",
    "DecoderTraining": "tf_style.training.decoders",
    "DecoderTrainConfig": "tf_style.training.decoders",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tf_style' has no attribute {name!r}")


def __dir__():
    return [*__all__, "__version__"]
