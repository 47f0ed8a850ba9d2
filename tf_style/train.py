"""Model optimisation: train a transform network for one style (Johnson et al., 2016).

    photos (tf.data: decode, resize, random crop, flip, batch, prefetch)
      -> transform net -> stylised batch
      -> loss network (the image-optimisation feature extractor)
      -> content loss against the photos' features + Gram-matrix style loss
         against the painting + total variation -> Adam

The losses are the ones of ``tf_style.losses`` with the same normalisation, so
weights mean the same thing as in image optimisation. Training is written for
``tf.distribute``: the default strategy on one device, ``MirroredStrategy``
across several. Checkpoints (``tf.train.Checkpoint``) hold the step, the
network and the optimiser state; the data position follows from the step (the
photo stream is a deterministic function of the seed), so a resumed run sees
exactly the batches the interrupted one would have seen.

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_style import export, losses
from tf_style.backbones import BACKBONES, POOLINGS
from tf_style.config import (DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, check_choice, check_finite,
                             check_layer_weights)
from tf_style.errors import ConfigError, ImageError, ModelError
from tf_style.features import PRECISIONS, build_feature_extractor, resolve_layer_weights
from tf_style.images import resize_image
from tf_style.transform_net import MODEL_SIZES, build_transform_net

# Content and style at image optimisation's layers (block4_conv2; Gatys's five style layers), so
# the two modes aim at one target (the README compares them). Johnson et al. (2016) took content
# at relu2_2 and style at relu1_2, relu2_2, relu3_3, relu4_3. Content at relu2_2 holds the
# network to the photo's fine detail, which competes with the painting's brush strokes:
# fine-tuning the shipped networks from relu2_2 to relu4_2 lowered their style distance by a
# quarter to a half with no loss of content (README, "Fast style networks").
DEFAULT_TRAIN_CONTENT_LAYERS = DEFAULT_CONTENT_LAYERS
DEFAULT_TRAIN_STYLE_LAYERS = DEFAULT_STYLE_LAYERS
# What tf.io.decode_image reads.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Field names are the CLI flag names.

    Attributes:
        backbone: Loss network: "vgg19" or "vgg16_hed" (offline).
        vgg_weights: Local VGG19 notop ``.h5`` (vgg19 only).
        pooling: "avg" or "max" pooling in the loss network.
        model_size: A preset of ``transform_net.MODEL_SIZES``: "mobile" or "classic".
        content_layers / style_layers: Loss-network layers (Keras or paper names).
        content_layer_weights / style_layer_weights: One positive weight per layer;
            None for equal. Normalised to sum 1, as in image optimisation.
        content_weight, style_weight, tv_weight: Loss weights (normalised as in image optimisation).
        style_scale: The painting is resized so its longer side is this times `crop_size`.
        crop_size: Side of the square training crops, in pixels.
        batch_size: Photos per step, over all devices.
        num_steps: Optimiser steps.
        learning_rate: Adam's step size.
        seed: Seeds the network's initialisation and the photo stream.
        init_model: A trained transform net (``.keras``) to start from instead of
            the seeded random weights, to fine-tune it (under other weights or
            layers, say); it must be a ``model_size`` network. A resumed
            checkpoint takes precedence.
        precision: "float32" or "bfloat16" mixed precision in the loss network;
            "auto" picks bfloat16 on CPUs with AMX (see `tf_style.hardware`).
        checkpoint_every: Steps between checkpoints.
        log_every: Steps between TensorBoard scalars.
        sample_every: Steps between TensorBoard sample images.
    """

    backbone: str = "vgg19"
    vgg_weights: str | None = None
    pooling: str = "avg"
    model_size: str = "mobile"
    content_layers: tuple[str, ...] = DEFAULT_TRAIN_CONTENT_LAYERS
    style_layers: tuple[str, ...] = DEFAULT_TRAIN_STYLE_LAYERS
    content_layer_weights: tuple[float, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 16.0
    tv_weight: float = 10.0
    style_scale: float = 2.0
    crop_size: int = 192
    batch_size: int = 4
    num_steps: int = 1000
    learning_rate: float = 2e-3
    seed: int = 0
    init_model: str | None = None
    precision: str = "float32"
    checkpoint_every: int = 100
    log_every: int = 10
    sample_every: int = 100

    def __post_init__(self):
        for field in ("content_layers", "style_layers", "content_layer_weights", "style_layer_weights"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, tuple(value))
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("model_size", self.model_size, tuple(MODEL_SIZES))
        check_choice("precision", self.precision, PRECISIONS)
        if self.vgg_weights is not None and self.backbone != "vgg19":
            raise ConfigError("vgg_weights is for the vgg19 backbone only")
        if not self.content_layers or not self.style_layers:
            raise ConfigError("content_layers and style_layers must each name at least one layer")
        check_layer_weights("content_layer_weights", self.content_layer_weights, self.content_layers)
        check_layer_weights("style_layer_weights", self.style_layer_weights, self.style_layers)
        check_finite("content_weight", self.content_weight, allow_zero=True)
        check_finite("tv_weight", self.tv_weight, allow_zero=True)
        for name in ("style_weight", "style_scale", "learning_rate"):
            check_finite(name, getattr(self, name), allow_zero=False)
        for name, low in (("crop_size", 32), ("batch_size", 1), ("num_steps", 1), ("checkpoint_every", 1),
                          ("log_every", 1), ("sample_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}


@dataclasses.dataclass
class TrainProgress:
    """One optimiser step of training.

    Attributes:
        step: Steps done so far (1-based after the first step).
        num_steps: Steps the run will take in all.
        losses: ``content_loss``, ``style_loss``, ``tv_loss``, ``total_loss`` as floats.
        images_per_second: Training throughput over the last step.
    """

    step: int
    num_steps: int
    losses: dict
    images_per_second: float


# Data ------------------------------------------------------------------------------


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
    candidates = sorted(os.path.join(root, name) for root, _, names in os.walk(folder) for name in names
                        if os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS)
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


def make_photo_dataset(paths: Sequence[str], crop_size: int, batch_size: int, seed: int,
                       start_index: int = 0) -> tf.data.Dataset:
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


# Training ---------------------------------------------------------------------------


def _network_fits_checkpoint(network: keras.Model, path: str) -> bool:
    """Whether the checkpoint at `path` restores into a copy of `network` (the network is not touched).

    A restore that fails half-way leaves values pending on the objects it reached, and
    TensorFlow lists each of them in a warning when they are collected: trying on a
    copy lets that happen now, quietly, instead of after the error message.
    """
    copy = keras.models.clone_model(network)
    fits = _restores(tf.train.Checkpoint(transform_net=copy), path)
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        del copy
        gc.collect()
    finally:
        logger.setLevel(level)
    return fits


def _architecture(network: keras.Model) -> list:
    """Each layer's name, kind, settings and weight shapes: what decides whether weights carry over."""
    return [(layer.name, type(layer).__name__,
             {key: value for key, value in layer.get_config().items() if not key.endswith("initializer")},
             [tuple(weight.shape) for weight in layer.weights]) for layer in network.layers]


def _restores(checkpoint: tf.train.Checkpoint, path: str) -> bool:
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
        return True
    except (ValueError, AssertionError, tf.errors.OpError):
        return False


class FastStyleTraining:
    """Trains a transform network to paint photos in the style of one painting.

    Writes checkpoints to ``<output_dir>/checkpoints`` and TensorBoard
    summaries (losses; a stylised sample photo) to ``<output_dir>/logs``;
    resumes from the latest checkpoint there. It never writes the final model:
    the caller saves ``training.transform_net`` where it wants.

    Example:
        >>> training = FastStyleTraining(painting, photo_paths, TrainConfig(backbone="vgg16_hed"),
        ...                              "runs/starry_night")  # doctest: +SKIP
        >>> for progress in training.run():  # doctest: +SKIP
        ...     print(progress.step, progress.losses["total_loss"])
        >>> training.transform_net.save("starry_night.keras")  # doctest: +SKIP
    """

    def __init__(self, style_image: np.ndarray, image_paths: Sequence[str], config: TrainConfig,
                 output_dir: str, strategy: tf.distribute.Strategy | None = None,
                 sample_image: np.ndarray | None = None, extractor_builder=build_feature_extractor):
        """Builds the networks and restores the latest checkpoint, if any.

        Args:
            style_image: float32 (H, W, 3) RGB in [0, 1], the painting.
            image_paths: Training photos (see ``list_training_images``).
            config: The settings.
            output_dir: Folder for checkpoints and logs (created if missing).
            strategy: A ``tf.distribute`` strategy; None for the default one.
            sample_image: float32 (H, W, 3) in [0, 1] stylised into TensorBoard
                every ``sample_every`` steps; None for a centre crop of the first photo.
            extractor_builder: Builds the loss network (tests pass tiny random ones).

        Raises:
            ConfigError: a bad layer name, or a batch that does not split over the devices.
            ModelError: `output_dir` holds a checkpoint of a different network, or
                `init_model` is unreadable or not a `model_size` network.
        """
        # Read first: a bad file is reported before the loss network is built.
        initial_network = export.load_keras_model(config.init_model) if config.init_model else None
        self.config = config
        self.output_dir = output_dir
        self.image_paths = list(image_paths)
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ConfigError(f"batch_size {config.batch_size} does not split over {replicas} devices")
        architecture = "vgg16" if config.backbone == "vgg16_hed" else "vgg19"
        self.content_layer_weights = resolve_layer_weights(config.content_layers, config.content_layer_weights,
                                                           architecture)
        self.style_layer_weights = resolve_layer_weights(config.style_layers, config.style_layer_weights,
                                                         architecture)
        self.content_layers = list(self.content_layer_weights)
        self.style_layers = list(self.style_layer_weights)
        weights = config.vgg_weights or "pretrained"

        with self.strategy.scope():
            self.transform_net = build_transform_net(**MODEL_SIZES[config.model_size], seed=config.seed)
            # The stylised batch needs both kinds of layers: one pass through the network gives
            # them all. The photos need only the content layers, so they stop early.
            self.loss_extractor = extractor_builder(tuple(dict.fromkeys(self.content_layers + self.style_layers)),
                                                    config.backbone, pooling=config.pooling, weights=weights,
                                                    precision=config.precision)
            self.content_extractor = extractor_builder(self.content_layers, config.backbone,
                                                       pooling=config.pooling, weights=weights,
                                                       precision=config.precision)
            self.optimizer = keras.optimizers.Adam(config.learning_rate)
            self.optimizer.build(self.transform_net.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.min_crop = self.loss_extractor.min_input_size
        if config.crop_size < self.min_crop:
            raise ConfigError(f"crop_size must be at least {self.min_crop} for these layers")

        style_size = max(self.min_crop, round(config.style_scale * config.crop_size))
        height, width = style_image.shape[:2]
        scale = style_size / max(height, width)
        style_image = resize_image(style_image, (max(self.min_crop, round(height * scale)),
                                                 max(self.min_crop, round(width * scale))))
        style_features = self.loss_extractor(style_image[None])
        self.target_grams = {name: tf.constant(losses.gram_matrix(style_features[name]))
                             for name in self.style_layers}

        self.checkpoint = tf.train.Checkpoint(step=self.step, transform_net=self.transform_net,
                                              optimizer=self.optimizer)
        self.checkpoint_manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(output_dir, "checkpoints"), max_to_keep=3)
        latest = self.checkpoint_manager.latest_checkpoint
        if latest:
            if not _network_fits_checkpoint(self.transform_net, latest):
                raise ModelError(f"the checkpoint {latest} does not fit this network (saved by other settings or "
                                 "another version of tf_style): use a new output folder")
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        elif initial_network is not None:
            self._start_from(initial_network, config.init_model)
        self.sample_image = sample_image
        self._train_step = None

    def _start_from(self, source: keras.Model, path: str) -> None:
        """Copies the weights of `source`, loaded from `path` (raises ModelError if they do not fit)."""
        if _architecture(source) != _architecture(self.transform_net):
            raise ModelError(f"init_model {path} is not a {self.config.model_size} network of this version of "
                             "tf_style: pass its --model_size, or start without it")
        self.transform_net.set_weights(source.get_weights())

    @property
    def resumed_step(self) -> int:
        """The step the run starts from (0 unless a checkpoint was restored)."""
        return int(self.step.numpy())

    def compute_losses(self, content_images: tf.Tensor) -> dict:
        """The named losses of one batch (float32 scalars, means over the batch)."""
        config = self.config
        stylized_images = self.transform_net(content_images, training=True)
        stylized_features = self.loss_extractor(stylized_images)
        photo_content = self.content_extractor(content_images)
        content_loss = losses.weighted_layer_sum(
            {name: losses.content_loss(stylized_features[name], tf.stop_gradient(photo_content[name]))
             for name in self.content_layers}, self.content_layer_weights)
        style_loss = losses.weighted_layer_sum(
            {name: losses.style_layer_loss(stylized_features[name], self.target_grams[name])
             for name in self.style_layers}, self.style_layer_weights)
        tv_loss = losses.tv_loss(stylized_images)
        total_loss = (config.content_weight * content_loss + config.style_weight * style_loss
                      + config.tv_weight * tv_loss)
        return {"content_loss": content_loss, "style_loss": style_loss, "tv_loss": tv_loss,
                "total_loss": total_loss}

    def _build_train_step(self):
        strategy = self.strategy
        replicas = strategy.num_replicas_in_sync
        variables = self.transform_net.trainable_variables

        def replica_step(content_images):
            with tf.GradientTape() as tape:
                named_losses = self.compute_losses(content_images)
                # Each replica holds 1/replicas of the batch; the gradients are summed across replicas.
                scaled_loss = named_losses["total_loss"] / replicas
            gradients = tape.gradient(scaled_loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return named_losses

        @tf.function
        def train_step(iterator):
            per_replica = strategy.run(replica_step, args=(next(iterator),))
            self.step.assign_add(1)
            return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                    for name, value in per_replica.items()}

        return train_step

    def save_checkpoint(self) -> str:
        """Writes a checkpoint of the current step; returns its path prefix."""
        return self.checkpoint_manager.save(checkpoint_number=int(self.step.numpy()))

    def run(self) -> Iterator[TrainProgress]:
        """Trains from the current step to ``num_steps``, yielding after every step.

        Checkpoints every ``checkpoint_every`` steps and at the end. A caller
        that stops early (for example on Ctrl-C) calls ``save_checkpoint()``.

        Raises:
            FloatingPointError: the loss became NaN or infinite (the last
                checkpoint is kept).
        """
        config = self.config
        start = self.resumed_step
        if start >= config.num_steps:
            return
        dataset = make_photo_dataset(self.image_paths, config.crop_size, config.batch_size, config.seed,
                                     start_index=start * config.batch_size)
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        if self._train_step is None:
            self._train_step = self._build_train_step()
        writer = tf.summary.create_file_writer(os.path.join(self.output_dir, "logs"))
        sample = self._sample_batch()
        try:
            for step in range(start + 1, config.num_steps + 1):
                began = time.perf_counter()
                named_losses = {name: float(value) for name, value in self._train_step(iterator).items()}
                elapsed = time.perf_counter() - began
                if not all(math.isfinite(value) for value in named_losses.values()):
                    raise FloatingPointError(f"the loss became NaN or infinite at step {step}")
                with writer.as_default(step=step):
                    if step % config.log_every == 0 or step == config.num_steps:
                        for name, value in named_losses.items():
                            tf.summary.scalar(name, value)
                        tf.summary.scalar("images_per_second", config.batch_size / elapsed)
                    if sample is not None and (step % config.sample_every == 0 or step == config.num_steps):
                        tf.summary.image("stylized_sample", self.transform_net(sample, training=False))
                if step % config.checkpoint_every == 0 or step == config.num_steps:
                    self.save_checkpoint()
                yield TrainProgress(step, config.num_steps, named_losses, config.batch_size / elapsed)
        finally:  # Also when the caller stops early: the summaries so far reach the disk.
            writer.close()

    def _sample_batch(self):
        if self.sample_image is not None:
            return tf.constant(self.sample_image[None], tf.float32)
        first = next(iter(make_photo_dataset(self.image_paths[:1], self.config.crop_size, 1, self.config.seed)),
                     None)
        return first
