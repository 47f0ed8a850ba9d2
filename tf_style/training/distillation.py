"""A small encoder distilled from the VGG, trained together with its decoder: the fast universal model.

    photo -> small VGG-shaped encoder (widths x encoder_width) -> relu{k}_1 for k = 1 ... level
      each relu{k}_1 -> a 1 x 1 convolution (the embedding) -> should be the VGG's relu{k}_1
      relu{level}_1 -> decoder -> the photo again
    loss = embedding_weight * sum over k of the embedding's error / the VGG's mean squared feature
         + pixel_weight * mean squared pixel error
         + feature_weight * sum over k of the picture's VGG feature error / the photo's

The universal model's time at 512 px goes mostly into the VGG's full-resolution
convolutions (64 channels at relu1_1, where a phone-sized network has 16): three
VGG16 encoder passes cost about 45 G multiply-adds. A VGG-shaped encoder a
quarter as wide costs a sixteenth. Trained alone to reconstruct photos its
features would carry the photo but not the VGG's notion of texture, which is
what whitening and colouring move; the embedding term asks that a linear map of
them give the VGG's features back, so their covariances are, as far as the map
succeeds, the VGG's covariances seen through it (the linear-embedding loss of collaborative distillation,
Wang et al., CVPR 2020). The decoder learns beside it, so the encoder also
learns features that can be decoded (their collaborative term), and the picture's
feature error is read by the VGG itself, not by the student.

Images: float32 RGB in [0, 1], NHWC. The encoder takes them through the
backbone's own preprocessing (`tf_style.backbones.feature_extractor.VGGPreprocessing`),
so `tf_style.networks.universal.model.distilled_extractor_builder` serves it as a
`FeatureExtractor` of width ``encoder_width``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_style import hardware
from tf_style.backbones import vgg
from tf_style.backbones.feature_extractor import VGGPreprocessing, build_feature_extractor
from tf_style.errors import ConfigError
from tf_style.networks.universal.decoder import ENCODER_POOLING, build_decoder, level_layer
from tf_style.training.config import check_schedule
from tf_style.training.trainer import Trainer
from tf_style.validation import check_choice, check_finite


@dataclasses.dataclass(frozen=True)
class DistillationConfig:
    """Everything that decides a distilled encoder's training run (and its decoder's).

    Attributes:
        level: The encoder stops at ``relu{level}_1`` (1-5); the decoder decodes it.
        encoder_width: The encoder's filters as a share of the VGG's (0.25: 16 at relu1_1, 64 at relu3_1).
        decoder_width: Multiplier on the decoder's hidden filters, relative to the encoder's widths.
        backbone: The teacher, "vgg16_hed" (offline) or "vgg19".
        embedding_weight: Weight of the embeddings' errors against the teacher's features.
        pixel_weight: Weight of the reconstruction's mean squared pixel error.
        feature_weight: Weight of the reconstruction's teacher-feature errors at relu1_1 ... relu{level}_1.
        precision: "float32", "bfloat16" or "auto" (bfloat16 where the CPU has AMX or on a GPU).
        learning_rate: Adam's step size at first; it decays along a cosine to a tenth of it.
        crop_size, batch_size, num_steps, seed, checkpoint_every,
        log_every, sample_every: the schedule, as `tf_style.training.config.TrainConfig`'s.
    """

    level: int = 3
    encoder_width: float = 0.25
    decoder_width: float = 1.0
    backbone: str = "vgg16_hed"
    embedding_weight: float = 1.0
    pixel_weight: float = 10.0
    feature_weight: float = 1.0
    precision: str = "auto"
    crop_size: int = 192
    batch_size: int = 8
    num_steps: int = 4000
    learning_rate: float = 1e-3
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    sample_every: int = 200

    def __post_init__(self):
        level_layer(self.level)  # ConfigError for a bad level.
        check_choice("backbone", self.backbone, vgg.BACKBONES)
        check_choice("precision", self.precision, hardware.PRECISIONS)
        for name in ("embedding_weight", "pixel_weight", "feature_weight"):
            check_finite(name, getattr(self, name), allow_zero=True)
        for name in ("encoder_width", "decoder_width"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1], got {value!r}")
        check_schedule(self, min_crop_size=2 ** (self.level - 1))


class EncoderDistillation(Trainer):
    """Trains a small encoder on the VGG's features and a decoder on its own, together.

    Writes checkpoints to ``<output_dir>/checkpoints`` and TensorBoard summaries
    (losses; a reconstructed sample photo) to ``<output_dir>/logs``; resumes from
    the latest checkpoint there. The caller saves `encoder` (the VGG-shaped stack
    from Caffe-preprocessed BGR to ``relu{level}_1``, Keras layer names) and `decoder`.

    Args:
        image_paths: Training photos.
        config: The settings.
        output_dir: Folder for checkpoints and logs.
        strategy: A ``tf.distribute`` strategy; None for the default one.
        sample_image: float32 (H, W, 3) in [0, 1] reconstructed into TensorBoard; None for a crop of the first photo.
        extractor_builder: Builds the teacher with `build_feature_extractor`'s arguments
            (tests pass tiny random ones); None for the real one.
    """

    checkpoint_key = "student"

    def __init__(
        self,
        image_paths: Sequence[str],
        config: DistillationConfig,
        output_dir: str,
        strategy: tf.distribute.Strategy | None = None,
        sample_image: np.ndarray | None = None,
        extractor_builder=None,
    ):
        self.extractor_builder = extractor_builder or build_feature_extractor
        self.precision = hardware.resolve_precision(config.precision)
        self.feature_layers = [level_layer(level) for level in range(1, config.level + 1)]
        super().__init__(image_paths, config, output_dir, strategy=strategy, sample_image=sample_image)

    @property
    def encoder(self) -> keras.Model:
        """The distilled encoder: Caffe-preprocessed BGR (B, H, W, 3) -> ``relu{level}_1``, VGG layer names."""
        return self.stack

    @property
    def decoder(self) -> keras.Model:
        """The decoder of the distilled encoder's ``relu{level}_1`` features."""
        return self.network.get_layer(f"decoder_relu{self.config.level}_1")

    def build_network(self) -> keras.Model:
        # The teacher first: the embeddings are as wide as its layers.
        self.teacher = self.extractor_builder(
            self.feature_layers, self.config.backbone, pooling=ENCODER_POOLING, precision=self.precision
        )
        config = self.config
        architecture = vgg.ARCHITECTURE[config.backbone]
        dtype = "mixed_bfloat16" if self.precision == "bfloat16" else None
        keras.utils.set_random_seed(config.seed)
        self.stack = stack = vgg.build_vgg(
            architecture, self.feature_layers[-1], pooling=ENCODER_POOLING, width=config.encoder_width, dtype=dtype
        )
        decoder = build_decoder(
            config.level, config.decoder_width, architecture, dtype, encoder_width=config.encoder_width
        )
        photo = keras.Input((None, None, 3), name="image")
        preprocessed = VGGPreprocessing(vgg.BGR_MEAN[config.backbone], name="vgg_preprocessing")(photo)
        taps = keras.Model(stack.input, [stack.get_layer(name).output for name in self.feature_layers])
        features = taps(preprocessed)
        features = features if isinstance(features, list) else [features]
        outputs = {"picture": decoder(features[-1])}
        for name, value in zip(self.feature_layers, features):
            teacher_channels = int(self.teacher.taps.get_layer(name).output.shape[-1])
            outputs[f"embedded_{name}"] = keras.layers.Conv2D(teacher_channels, 1, name=f"embed_{name}", dtype=dtype)(
                value
            )
        return keras.Model(photo, outputs, name="distillation")  # Shares the stack's layers.

    def learning_rate(self):
        """``learning_rate``, decayed along a cosine to a tenth of it at ``num_steps``."""
        return keras.optimizers.schedules.CosineDecay(self.config.learning_rate, self.config.num_steps, alpha=0.1)

    def sample_picture(self, images: tf.Tensor) -> tf.Tensor:
        """The photos encoded by the student and decoded, clipped to [0, 1]."""
        return tf.clip_by_value(self.network(images, training=False)["picture"], 0.0, 1.0)

    def compute_losses(self, images: tf.Tensor) -> dict:
        """``embedding_loss``, ``pixel_loss``, ``feature_loss`` and their weighted sum ``total_loss``."""
        config = self.config
        targets = {name: tf.stop_gradient(value) for name, value in self.teacher(images).items()}
        outputs = self.network(images, training=True)
        scales = {name: tf.reduce_mean(tf.square(targets[name])) + 1e-6 for name in self.feature_layers}
        embedding_loss = tf.add_n(
            [
                tf.reduce_mean(tf.square(tf.cast(outputs[f"embedded_{name}"], tf.float32) - targets[name]))
                / scales[name]
                for name in self.feature_layers
            ]
        )
        pictures = outputs["picture"]
        pixel_loss = tf.reduce_mean(tf.square(pictures - images))
        picture_features = self.teacher(pictures)
        feature_loss = tf.add_n(
            [
                tf.reduce_mean(tf.square(picture_features[name] - targets[name])) / scales[name]
                for name in self.feature_layers
            ]
        )
        total = (
            config.embedding_weight * embedding_loss
            + config.pixel_weight * pixel_loss
            + config.feature_weight * feature_loss
        )
        return {
            "total_loss": total,
            "embedding_loss": embedding_loss,
            "pixel_loss": pixel_loss,
            "feature_loss": feature_loss,
        }
