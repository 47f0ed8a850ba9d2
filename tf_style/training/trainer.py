"""The training loop every network family shares.

    photos (tf.data: decode, resize, random crop, flip, batch, prefetch)
      -> network -> compute_losses (the family's objective) -> Adam

`Trainer` owns what does not depend on the network: the step counter, Adam,
``tf.distribute`` (the default strategy on one device, ``MirroredStrategy``
across several, ``MultiWorkerMirroredStrategy`` across machines), checkpoints
(``tf.train.Checkpoint`` of the step, the network and the optimiser state),
TensorBoard summaries and the NaN guard. The data position follows from the
step (the photo stream is a deterministic function of the seed), so a resumed
run sees exactly the batches the interrupted one would have seen. A family
subclasses it and says what to build and what to minimise
(`tf_style.training.fast_style` for the Johnson transform network).

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_style.errors import ConfigError, ImageError, ModelError, OutputError, first_line
from tf_style.training.checkpoints import check_readable, latest_checkpoint, network_fits_checkpoint
from tf_style.training.data import make_photo_dataset


@dataclasses.dataclass
class TrainProgress:
    """One optimiser step of training.

    Attributes:
        step: Steps done so far (1-based after the first step).
        num_steps: Steps the run will take in all.
        losses: ``total_loss`` and the objective's terms (``content_loss``, ...) as floats.
        images_per_second: Training throughput over the last step.
    """

    step: int
    num_steps: int
    losses: dict
    images_per_second: float


class Trainer:
    """Trains a network on crops of photos, resumably; subclasses say what network and what loss.

    A subclass implements `build_network` and `compute_losses`, and may override
    `build_loss_networks` (built in the strategy's scope, after the network),
    `prepare` (after both, outside the scope: targets, checks) and
    `start_from_scratch` (the network's weights when there is no checkpoint).

    The config needs the schedule fields of `TrainConfig`: ``crop_size``,
    ``batch_size``, ``num_steps``, ``learning_rate``, ``seed``,
    ``checkpoint_every``, ``log_every``, ``sample_every``.

    Args:
        image_paths: Training photos (see `tf_style.training.data.list_training_images`).
        config: The settings.
        output_dir: Folder for ``checkpoints/`` and TensorBoard ``logs/``.
        strategy: A ``tf.distribute`` strategy; None for the default one.
        sample_image: float32 (H, W, 3) in [0, 1] painted into TensorBoard every
            ``sample_every`` steps; None for a crop of the first photo.

    Across machines (``MultiWorkerMirroredStrategy``) every worker runs the same
    loop on its share of each batch; the chief writes checkpoints and TensorBoard
    summaries to `output_dir`, the other workers write theirs to a temporary
    folder (saving is a collective step all workers take) that is removed at the end.

    Raises:
        ConfigError: a batch that does not split over the devices.
        ModelError: `output_dir` holds a checkpoint of a different network.
    """

    # The network's name in checkpoints.
    checkpoint_key = "network"

    def __init__(
        self,
        image_paths: Sequence[str],
        config,
        output_dir: str,
        strategy: tf.distribute.Strategy | None = None,
        sample_image: np.ndarray | None = None,
    ):
        self.config = config
        self.output_dir = output_dir
        self.image_paths = list(image_paths)
        self.sample_image = sample_image
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ConfigError(f"batch_size {config.batch_size} does not split over {replicas} devices")
        with self.strategy.scope():
            self.network = self.build_network()
            self.build_loss_networks()
            self.optimizer = keras.optimizers.Adam(self.learning_rate())
            self.optimizer.build(self.trained_variables())
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.prepare()

        self.checkpoint = tf.train.Checkpoint(
            step=self.step, optimizer=self.optimizer, **{self.checkpoint_key: self.network}
        )
        checkpoint_dir = os.path.join(output_dir, "checkpoints")
        latest = latest_checkpoint(checkpoint_dir)  # Every worker resumes from the chief's checkpoints.
        if latest:
            check_readable(latest)
            if not network_fits_checkpoint(self.network, latest, self.checkpoint_key):
                raise ModelError(
                    f"the checkpoint {latest} does not fit this network (saved by other settings or "
                    "another version of tf_style): use a new output folder"
                )
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        else:
            self.start_from_scratch()
        # A worker other than the chief writes its checkpoints (and logs) where nothing reads them.
        self._scratch_dir = None if self.is_chief else tempfile.mkdtemp(prefix="tf_style_worker_")
        self.checkpoint_manager = tf.train.CheckpointManager(
            self.checkpoint, checkpoint_dir if self.is_chief else self._scratch_dir, max_to_keep=3
        )
        self._train_step = None

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run's files: True except on the other workers of a multi-worker run."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        task_type = getattr(resolver, "task_type", None)
        if task_type is None:
            return True
        has_chief = "chief" in (resolver.cluster_spec().as_dict() or {})
        return task_type == "chief" or (not has_chief and task_type == "worker" and resolver.task_id == 0)

    def close(self) -> None:
        """Removes a non-chief worker's scratch folder (nothing to do on the chief)."""
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            self._scratch_dir = None

    # What a network family provides ---------------------------------------------------

    def build_network(self) -> keras.Model:
        """The network to train (called in the strategy's scope)."""
        raise NotImplementedError

    def build_loss_networks(self) -> None:
        """Builds whatever the loss needs besides the network (called in the strategy's scope)."""

    def prepare(self) -> None:
        """Computes fixed targets and checks settings, once the networks exist."""

    def start_from_scratch(self) -> None:
        """Sets the network's starting weights when no checkpoint is resumed (default: as built)."""

    def learning_rate(self):
        """Adam's step size: a float, or a schedule of the optimiser's step (default: ``config.learning_rate``)."""
        return self.config.learning_rate

    def trained_variables(self) -> list:
        """The variables the optimiser updates (default: all the network's trainable ones)."""
        return self.network.trainable_variables

    def sample_picture(self, images: tf.Tensor) -> tf.Tensor:
        """What TensorBoard shows of the network for photos (B, H, W, 3) (default: the network applied to them)."""
        return self.network(images, training=False)

    def compute_losses(self, images: tf.Tensor) -> dict:
        """The named losses of one batch of photos (float32 scalars, means over the batch).

        Must include ``total_loss``, the value minimised.
        """
        raise NotImplementedError

    # The loop -------------------------------------------------------------------------

    @property
    def resumed_step(self) -> int:
        """The step the run starts from (0 unless a checkpoint was restored)."""
        return int(self.step.numpy())

    def _build_train_step(self):
        strategy = self.strategy
        replicas = strategy.num_replicas_in_sync
        variables = self.trained_variables()

        def replica_step(images):
            with tf.GradientTape() as tape:
                named_losses = self.compute_losses(images)
                # Each replica holds 1/replicas of the batch; the gradients are summed across replicas.
                scaled_loss = named_losses["total_loss"] / replicas
            gradients = tape.gradient(scaled_loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return named_losses

        @tf.function
        def train_step(iterator):
            per_replica = strategy.run(replica_step, args=(next(iterator),))
            self.step.assign_add(1)
            return {
                name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in per_replica.items()
            }

        return train_step

    def save_checkpoint(self) -> str:
        """Writes a checkpoint of the current step; returns its path prefix.

        Raises:
            OutputError: it cannot be written (a full disk, a folder made read-only).
        """
        try:
            return self.checkpoint_manager.save(checkpoint_number=int(self.step.numpy()))
        except (tf.errors.OpError, OSError) as error:
            raise OutputError(
                f"cannot write a checkpoint to {self.checkpoint_manager.directory} ({first_line(error)})"
            ) from None

    @property
    def latest_checkpoint(self) -> str | None:
        """The path prefix of the newest checkpoint written or restored, if any."""
        return self.checkpoint_manager.latest_checkpoint

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
        dataset = make_photo_dataset(
            self.image_paths, config.crop_size, config.batch_size, config.seed, start_index=start * config.batch_size
        )
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        if self._train_step is None:
            self._train_step = self._build_train_step()
        logs = os.path.join(self.output_dir if self.is_chief else self._scratch_dir, "logs")
        writer = tf.summary.create_file_writer(logs)
        sample = self._sample_batch()
        try:
            for step in range(start + 1, config.num_steps + 1):
                began = time.perf_counter()
                try:
                    named_losses = {name: float(value) for name, value in self._train_step(iterator).items()}
                except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
                    raise ImageError(
                        f"a training photo could not be read at step {step} (was it changed or "
                        f"removed after the run started?): {first_line(error)}"
                    ) from None
                elapsed = time.perf_counter() - began
                if not all(math.isfinite(value) for value in named_losses.values()):
                    raise FloatingPointError(f"the loss became NaN or infinite at step {step}")
                with writer.as_default(step=step):
                    if step % config.log_every == 0 or step == config.num_steps:
                        for name, value in named_losses.items():
                            tf.summary.scalar(name, value)
                        tf.summary.scalar("images_per_second", config.batch_size / elapsed)
                    if sample is not None and (step % config.sample_every == 0 or step == config.num_steps):
                        tf.summary.image("stylized_sample", self.sample_picture(sample))
                if step % config.checkpoint_every == 0 or step == config.num_steps:
                    self.save_checkpoint()
                yield TrainProgress(step, config.num_steps, named_losses, config.batch_size / elapsed)
        finally:  # Also when the caller stops early: the summaries so far reach the disk.
            # If they cannot (a full disk), the checkpoint that failed first has said so; the logs are not the result.
            with contextlib.suppress(tf.errors.OpError, OSError):
                writer.close()

    def _sample_batch(self):
        if self.sample_image is not None:
            return tf.constant(self.sample_image[None], tf.float32)
        return next(iter(make_photo_dataset(self.image_paths[:1], self.config.crop_size, 1, self.config.seed)), None)
