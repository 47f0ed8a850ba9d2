"""Training the decoders of universal style transfer: photos alone, no paintings.

    photos -> fixed VGG encoder to relu{k}_1 -> decoder -> picture
      loss = pixel_weight * mean squared pixel error
           + feature_weight * sum over relu1_1 ... relu{k}_1 of the picture's feature
             error, each divided by the photo's mean squared feature

Li et al. (NeurIPS 2017) train each level's decoder this way; the feature terms
keep edges sharp where pixels alone would blur them. A photorealistic decoder
(``unpooling=True``) is trained the same way and also gets the encoder's
activations before each pooling (`tf_style.networks.universal.decoder.pooling_sources`). The loop (checkpoints,
exact resume, TensorBoard, ``tf.distribute``) is `Trainer`'s.

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_style import hardware
from tf_style.backbones import vgg
from tf_style.backbones.feature_extractor import build_feature_extractor
from tf_style.networks.universal.decoder import ENCODER_POOLING, build_decoder, level_layer, pooling_sources
from tf_style.training.config import check_schedule
from tf_style.training.data import make_photo_dataset
from tf_style.training.trainer import Trainer
from tf_style.validation import check_choice, check_finite


@dataclasses.dataclass(frozen=True)
class DecoderTrainConfig:
    """Everything that decides a decoder's training run.

    Attributes:
        level: Decodes ``relu{level}_1`` (1-5).
        width: Multiplier on the decoder's hidden filters (`build_decoder`).
        backbone: The fixed encoder: "vgg16_hed" (offline) or "vgg19".
        pixel_weight: Weight of the mean squared pixel error.
        feature_weight: Weight of the normalised feature errors at relu1_1 ... relu{level}_1.
        precision: "float32", "bfloat16" or "auto" (bfloat16 where the CPU has AMX or on a GPU).
        learning_rate: Adam's step size at first; it decays along a cosine to a tenth of it.
        unpooling: Trains the photorealistic decoder (unpooling to the encoder's maxima).
        crop_size, batch_size, num_steps, seed, checkpoint_every,
        log_every, sample_every: the schedule, as `tf_style.training.config.TrainConfig`'s.
    """

    level: int = 4
    width: float = 0.5
    backbone: str = "vgg16_hed"
    pixel_weight: float = 10.0
    feature_weight: float = 1.0
    precision: str = "auto"
    crop_size: int = 128
    batch_size: int = 4
    num_steps: int = 8000
    learning_rate: float = 1e-3
    unpooling: bool = False
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    sample_every: int = 200

    def __post_init__(self):
        level_layer(self.level)  # ConfigError for a bad level.
        check_choice("backbone", self.backbone, vgg.BACKBONES)
        check_choice("precision", self.precision, hardware.PRECISIONS)
        for name in ("pixel_weight", "feature_weight"):
            check_finite(name, getattr(self, name), allow_zero=True)
        check_finite("width", self.width, allow_zero=False)
        check_schedule(self, min_crop_size=2 ** (self.level - 1))


class DecoderTraining(Trainer):
    """Trains one level's decoder to turn the fixed encoder's features back into the photo.

    Writes checkpoints to ``<output_dir>/checkpoints`` and TensorBoard summaries
    (losses; a reconstructed sample photo) to ``<output_dir>/logs``; resumes from
    the latest checkpoint there. The caller saves ``training.decoder``.

    Args:
        image_paths: Training photos.
        config: The settings.
        output_dir: Folder for checkpoints and logs.
        strategy: A ``tf.distribute`` strategy; None for the default one.
        sample_image: float32 (H, W, 3) in [0, 1] reconstructed into TensorBoard; None for a crop of the first photo.
        extractor_builder: Builds the encoder with `build_feature_extractor`'s arguments
            (tests pass tiny random ones); None for the real one.

    Example:
        >>> training = DecoderTraining(photo_paths, DecoderTrainConfig(level=4), "runs/relu4_1")  # doctest: +SKIP
        >>> for progress in training.run():  # doctest: +SKIP
        ...     print(progress.step, progress.losses["total_loss"])
        >>> training.decoder.save("decoder_relu4_1.keras")  # doctest: +SKIP
    """

    checkpoint_key = "decoder"

    def __init__(
        self,
        image_paths: Sequence[str],
        config: DecoderTrainConfig,
        output_dir: str,
        strategy: tf.distribute.Strategy | None = None,
        sample_image: np.ndarray | None = None,
        extractor_builder=None,
    ):
        self.extractor_builder = extractor_builder or build_feature_extractor
        self.precision = hardware.resolve_precision(config.precision)
        self.feature_layers = [level_layer(level) for level in range(1, config.level + 1)]
        architecture = vgg.ARCHITECTURE[config.backbone]
        self.source_layers = pooling_sources(architecture, config.level) if config.unpooling else []
        super().__init__(image_paths, config, output_dir, strategy=strategy, sample_image=sample_image)

    @property
    def decoder(self) -> keras.Model:
        """The network being trained."""
        return self.network

    def build_network(self) -> keras.Model:
        # The fixed encoder first: the decoder's input is as wide as its deepest layer.
        self.encoder = self.extractor_builder(
            self.feature_layers + self.source_layers,
            self.config.backbone,
            pooling=ENCODER_POOLING,
            precision=self.precision,
        )
        config = self.config
        # The features' per-channel statistics on a first batch of photos (the same batch on resuming).
        photos = next(iter(make_photo_dataset(self.image_paths, config.crop_size, config.batch_size, config.seed)))
        mean, variance = tf.nn.moments(self.encoder(photos)[self.feature_layers[-1]], axes=(0, 1, 2))
        keras.utils.set_random_seed(config.seed)
        return build_decoder(
            config.level,
            config.width,
            vgg.ARCHITECTURE[config.backbone],
            "mixed_bfloat16" if self.precision == "bfloat16" else None,
            encoder_width=self.encoder.width,
            feature_mean=mean.numpy().tolist(),
            # A channel nearly silent in this batch may fire in the next: its scale is floored.
            feature_variance=tf.maximum(variance, 0.01 * tf.reduce_mean(variance) + 1e-6).numpy().tolist(),
            unpooling=config.unpooling,
        )

    def decoder_inputs(self, encoded: dict) -> tf.Tensor | list[tf.Tensor]:
        """What the decoder takes of the encoder's outputs: the level's features (and the pooled activations)."""
        features = encoded[self.feature_layers[-1]]
        if not self.source_layers:
            return features
        return [features, *(encoded[name] for name in self.source_layers)]

    def learning_rate(self):
        """``learning_rate``, decayed along a cosine to a tenth of it at ``num_steps``."""
        return keras.optimizers.schedules.CosineDecay(self.config.learning_rate, self.config.num_steps, alpha=0.1)

    def sample_picture(self, images: tf.Tensor) -> tf.Tensor:
        """The photos encoded and decoded, clipped to [0, 1]."""
        return tf.clip_by_value(self.network(self.decoder_inputs(self.encoder(images)), training=False), 0.0, 1.0)

    def compute_losses(self, images: tf.Tensor) -> dict:
        """``pixel_loss``, ``feature_loss`` and their weighted sum ``total_loss`` for one batch of photos."""
        config = self.config
        targets = {name: tf.stop_gradient(value) for name, value in self.encoder(images).items()}
        pictures = self.network(self.decoder_inputs(targets), training=True)
        pixel_loss = tf.reduce_mean(tf.square(pictures - images))
        picture_features = self.encoder(pictures)
        feature_loss = tf.add_n(
            [
                tf.reduce_mean(tf.square(picture_features[name] - targets[name]))
                / (tf.reduce_mean(tf.square(targets[name])) + 1e-6)
                for name in self.feature_layers
            ]
        )
        total = config.pixel_weight * pixel_loss + config.feature_weight * feature_loss
        return {"total_loss": total, "pixel_loss": pixel_loss, "feature_loss": feature_loss}
