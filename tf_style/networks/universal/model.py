"""Universal style transfer: any painting in one pass, from a fixed encoder and decoders trained on photos.

    painting -> encoder -> statistics at relu{k}_1 for each level      (once per painting)
    photo -> for each level, coarse to fine (relu4_1 ... relu1_1):
               encoder to relu{k}_1 -> WCT (or AdaIN) to the painting's statistics
               -> blend with the untransformed features (style strength) -> decoder k -> picture
             and the picture is the next level's input

The coarse levels move colours and large strokes, the fine ones texture (Li et
al., NeurIPS 2017). Photorealistic transfer (PhotoWCT, Li et al., ECCV 2018)
decodes with unpooling decoders, which also take the encoder's activations
before each pooling, and smooths the final picture along the photo's edges
(`tf_style.networks.universal.smoothing`). Blending paintings is blending their statistics: WCT's
output is linear in the painting's mean and covariance root, so a weighted sum
of the statistics paints exactly the weighted sum of the paintings' transformed
features.

Both halves are Keras models (`style_encoder`, `transfer_network`) that
convert to TFLite as they are (`tf_style.export.universal`): the painting's
statistics are computed once, on the phone or ahead of time, and the transfer
model takes them as inputs.

Images: float32 RGB in [0, 1], NHWC. Statistics: a dict by name, per level
``relu{k}_1_mean`` (1, C) and, for WCT, ``relu{k}_1_root`` (1, C, C) (the
covariance's square root) or, for AdaIN, ``relu{k}_1_std`` (1, C).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from tf_style.backbones import vgg
from tf_style.backbones.feature_extractor import FeatureExtractor, build_feature_extractor
from tf_style.backbones.vgg import ARCHITECTURE
from tf_style.errors import ConfigError
from tf_style.io.images import fit_within, resize_image
from tf_style.networks.signatures import IMAGE_NAME, STYLIZED_IMAGE_NAME, ModelSignature, TensorSpec
from tf_style.networks.universal.contract import (
    PAINTING_NAME,
    STYLE_STRENGTH_NAME,
    check_transform,
    pad_for_transfer,
    statistic_names,
)
from tf_style.networks.universal.decoder import ENCODER_POOLING, level_layer, pooling_sources
from tf_style.networks.universal.layers import ClipToUnit, FeatureTransform, GuidedFilter, StyleStatistics


class UniversalStyleTransfer:
    """A fixed VGG encoder and one trained decoder per level.

    Args:
        decoders: ``{level: decoder}`` (`tf_style.networks.universal.decoder.build_decoder`,
            trained by `tf_style.training.decoders`); the levels used, coarse to fine.
        backbone: The encoder the decoders were trained on ("vgg16_hed" or "vgg19").
        extractor_builder: Builds the encoder with `build_feature_extractor`'s
            arguments (tests pass tiny random ones); None for the real one.

    The model is photorealistic (`photorealistic`) when its decoders unpool
    (`build_decoder(..., unpooling=True)`: they take the activations before each
    pooling too); it then smooths its pictures along the photo's edges.

    Raises:
        ConfigError: no decoders, a level outside 1-5, or unpooling and upsampling decoders mixed.
        WeightsError: the backbone's weights cannot be had.

    Example:
        >>> model = UniversalStyleTransfer({4: decoder4, 3: decoder3}, "vgg16_hed")  # doctest: +SKIP
        >>> statistics = model.style_statistics(painting)  # doctest: +SKIP
        >>> picture = model.transfer(photo, statistics)  # doctest: +SKIP
    """

    def __init__(self, decoders: Mapping[int, keras.Model], backbone: str = "vgg16_hed", extractor_builder=None):
        if not decoders:
            raise ConfigError("universal style transfer needs at least one decoder")
        self.levels = sorted(decoders, reverse=True)  # Coarse to fine.
        # A decoder that unpools takes the pooled activations after the features.
        self.sources = {
            level: pooling_sources(ARCHITECTURE.get(backbone, "vgg16"), level) if len(decoder.inputs) > 1 else []
            for level, decoder in decoders.items()
        }
        pooled_levels = [level for level in self.levels if level > 1]
        unpooling = [level for level in pooled_levels if self.sources[level]]
        if unpooling and len(unpooling) != len(pooled_levels):
            raise ConfigError(
                f"the decoders of relu{unpooling[0]}_1 unpool and of relu"
                f"{next(level for level in pooled_levels if level not in unpooling)}_1 upsample: "
                "use one kind (photorealistic or not) for every level"
            )
        self.photorealistic = bool(unpooling)
        layers = [level_layer(level) for level in self.levels]
        builder = extractor_builder or build_feature_extractor
        self.backbone = backbone
        extractor = builder(
            layers + sorted({name for names in self.sources.values() for name in names}),
            backbone,
            pooling=ENCODER_POOLING,
        )
        self.preprocessing = extractor.preprocessing
        self.decoders = dict(decoders)
        # One VGG stack; an encoder per level that stops at that level's layer.
        self.encoders = {
            level: keras.Model(
                extractor.taps.input, extractor.taps.get_layer(level_layer(level)).output, name=f"encoder_relu{level}_1"
            )
            for level in self.levels
        }
        # What the transfer encodes at each level: the features, and the activations its decoder unpools with.
        self.transfer_encoders = {
            level: keras.Model(
                extractor.taps.input,
                [extractor.taps.get_layer(name).output for name in [level_layer(level), *self.sources[level]]],
                name=f"transfer_encoder_relu{level}_1",
            )
            if self.sources[level]
            else self.encoders[level]
            for level in self.levels
        }
        self.alignment = 2 ** (max(self.levels) - 1)  # Pixels per feature pixel at the coarsest level.
        self._networks = {}
        self._compiled = {}

    def channels(self, level: int) -> int:
        """The encoder's channels at a level."""
        return int(self.encoders[level].output.shape[-1])

    def style_encoder(self, transform: str = "wct") -> keras.Model:
        """painting (1, H, W, 3) in [0, 1] -> the statistics of every level, in `statistic_names` order."""
        check_transform(transform)
        key = ("style_encoder", transform)
        if key not in self._networks:
            painting = keras.Input((None, None, 3), name=PAINTING_NAME)
            preprocessed = self.preprocessing(painting)
            outputs = []
            for level in self.levels:
                features = self.encoders[level](preprocessed)
                outputs += list(StyleStatistics(transform, name=f"statistics_relu{level}_1")(features))
            self._networks[key] = keras.Model(painting, outputs, name=f"style_encoder_{transform}")
        return self._networks[key]

    def transfer_network(self, transform: str = "wct") -> keras.Model:
        """[image (1, H, W, 3), the statistics in `statistic_names` order, style strength (1, 1)] -> picture.

        H and W must be multiples of `alignment` of at least twice it (`transfer` pads to that).
        """
        check_transform(transform)
        key = ("transfer", transform)
        if key not in self._networks:
            image = keras.Input((None, None, 3), name=IMAGE_NAME)
            statistics = []
            for level in self.levels:
                channels = self.channels(level)
                mean_name, spread_name = statistic_names(level, transform)
                spread_shape = (channels, channels) if transform == "wct" else (channels,)
                statistics += [keras.Input((channels,), name=mean_name), keras.Input(spread_shape, name=spread_name)]
            strength = keras.Input((1,), name=STYLE_STRENGTH_NAME)
            picture = image
            for index, level in enumerate(self.levels):
                encoded = self.transfer_encoders[level](self.preprocessing(picture))
                features, sources = (encoded[0], encoded[1:]) if self.sources[level] else (encoded, [])
                mean, spread = statistics[2 * index : 2 * index + 2]
                mixed = FeatureTransform(transform, name=f"transform_relu{level}_1")([features, mean, spread, strength])
                decoded = self.decoders[level]([mixed, *sources] if sources else mixed)
                picture = ClipToUnit(name=f"picture_relu{level}_1")(decoded)
            if self.photorealistic:
                picture = ClipToUnit(name="picture_smoothed")(GuidedFilter(name="smoothing")([picture, image]))
            self._networks[key] = keras.Model([image, *statistics, strength], picture, name=f"transfer_{transform}")
        return self._networks[key]

    def statistics_specs(self, transform: str = "wct") -> tuple[TensorSpec, ...]:
        """The statistics of every level, coarse to fine, as signature entries (batch 1)."""
        specs = []
        for level in self.levels:
            channels = self.channels(level)
            mean_name, spread_name = statistic_names(level, transform)
            spread = (1, channels, channels) if transform == "wct" else (1, channels)
            what = "covariance square root" if transform == "wct" else "standard deviations"
            specs += [
                TensorSpec(mean_name, (1, channels), description=f"the painting's relu{level}_1 channel means"),
                TensorSpec(spread_name, spread, description=f"the painting's relu{level}_1 {what}"),
            ]
        return tuple(specs)

    def style_encoder_signature(self, transform: str = "wct") -> ModelSignature:
        """`style_encoder`'s contract: a painting of any size in, the statistics out."""
        painting = TensorSpec(PAINTING_NAME, (1, None, None, 3), description="RGB in [0, 1], any size")
        return ModelSignature("style_statistics", (painting,), self.statistics_specs(transform))

    def transfer_signature(self, transform: str = "wct") -> ModelSignature:
        """`transfer_network`'s contract: photo, statistics and style strength in, picture out."""
        sides = f"sides multiples of {self.alignment}, at least {2 * self.alignment}"
        image = TensorSpec(IMAGE_NAME, (1, None, None, 3), description=f"RGB in [0, 1], {sides}")
        strength = TensorSpec(STYLE_STRENGTH_NAME, (1, 1), description="1: the painting's statistics; 0: the photo's")
        picture = TensorSpec(STYLIZED_IMAGE_NAME, (1, None, None, 3), description="RGB in [0, 1], the input's size")
        return ModelSignature("stylize", (image, *self.statistics_specs(transform), strength), (picture,))

    def style_statistics(
        self, painting: np.ndarray, transform: str = "wct", style_size: int | None = 512
    ) -> dict[str, np.ndarray]:
        """A painting's statistics at every level: what `transfer` needs of it.

        Args:
            painting: float32 (H, W, 3) RGB in [0, 1].
            transform: "wct" or "adain".
            style_size: The painting is resized so its longer side is this many
                pixels (its strokes' scale in the picture); None keeps its size.

        Returns:
            ``{name: float32 array}`` by `statistic_names`, each with a batch axis of 1.
        """
        encoder = self.style_encoder(transform)
        if style_size is not None:
            painting = resize_image(painting, fit_within(painting.shape, style_size))
        outputs = self._compiled_network(encoder)(tf.constant(painting[None], tf.float32))
        names = [name for level in self.levels for name in statistic_names(level, transform)]
        return {name: output.numpy() for name, output in zip(names, outputs)}

    def transfer(
        self,
        photo: np.ndarray,
        statistics: Mapping[str, np.ndarray],
        style_strength: float = 1.0,
        transform: str = "wct",
    ) -> np.ndarray:
        """Paints a photo with a painting's statistics, coarse to fine.

        Args:
            photo: float32 (H, W, 3) RGB in [0, 1]; any size of at least 1 pixel
                (mirrored outward and to the coarsest level's stride, then cropped
                back: `contract.pad_for_transfer`).
            statistics: `style_statistics` of a painting (or `blend_statistics` of several).
            style_strength: 1 paints with the transformed features, 0 with the
                photo's own (the decoders' reconstruction); blends in between.
            transform: The transform the statistics were computed for.

        Returns:
            float32 (H, W, 3) RGB in [0, 1].
        """
        network = self.transfer_network(transform)
        if not 0.0 <= style_strength <= 1.0:
            raise ConfigError(f"style_strength must be in [0, 1], got {style_strength!r}")
        names = [name for level in self.levels for name in statistic_names(level, transform)]
        missing = [name for name in names if name not in statistics]
        if missing:
            raise ConfigError(
                f"the statistics lack {', '.join(missing)}: compute them with this model's style_statistics "
                "for this transform"
            )
        padded, rows, columns = pad_for_transfer(photo, self.alignment)
        inputs = [
            tf.constant(padded[None], tf.float32),
            *(tf.constant(statistics[name], tf.float32) for name in names),
            tf.constant([[style_strength]], tf.float32),
        ]
        picture = self._compiled_network(network)(inputs)
        return picture.numpy()[0, rows, columns]

    def _compiled_network(self, network: keras.Model):
        if network.name not in self._compiled:
            self._compiled[network.name] = tf.function(
                lambda inputs: network(inputs, training=False), reduce_retracing=True
            )
        return self._compiled[network.name]


def distilled_extractor_builder(encoder: keras.Model):
    """An ``extractor_builder`` for `UniversalStyleTransfer` that serves a distilled encoder.

    Args:
        encoder: A VGG-shaped stack narrower than the VGG, from Caffe-preprocessed
            BGR to some ``relu{k}_1`` with the VGG's layer names
            (`tf_style.training.distillation.EncoderDistillation.encoder`).

    Returns:
        ``build(layers, backbone, pooling=..., precision=...)`` -> a `FeatureExtractor`
        of the encoder's width carrying its weights; ``build.width`` is that width.

    Raises (when called):
        ConfigError: a layer deeper than the encoder reaches.
    """
    width = int(encoder.get_layer("block1_conv1").filters) / vgg.BLOCK_WIDTHS[0]
    names = {layer.name for layer in encoder.layers}

    def build(layers, backbone, pooling=ENCODER_POOLING, precision="float32", **_) -> FeatureExtractor:
        extractor = build_feature_extractor(
            layers, backbone, pooling=pooling, weights=None, width=width, precision=precision
        )
        for layer in extractor.taps.layers:
            if layer.weights:
                if layer.name not in names:
                    raise ConfigError(f"the distilled encoder stops before {layer.name}")
                layer.set_weights(encoder.get_layer(layer.name).get_weights())
        return extractor

    build.width = width
    return build
