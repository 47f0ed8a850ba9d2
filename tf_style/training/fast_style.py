"""Model optimisation: train a transform network for one style (Johnson et al., 2016).

    photos -> transform net -> stylised batch
      -> loss network (the image-optimisation feature extractor)
      -> the objective of image optimisation: content against the photos' features,
         Gram-matrix style against the painting's, total variation, with
         `color_weight` the colour distribution against the painting's pixels and,
         with `layout_weight`, the coarse luminance against the photos'

The objective is `tf_style.losses.config.LossConfig.objective`, the one image
optimisation minimises, so weights mean the same thing in both modes. The loop
(checkpoints, exact resume, TensorBoard, ``tf.distribute``) is `Trainer`'s.

Images: float32 RGB in [0, 1], NHWC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tf_style.errors import ConfigError, ModelError
from tf_style.io.images import resize_image
from tf_style.networks.johnson.transform_net import TransformNet
from tf_style.networks.layers import InstanceNormalization
from tf_style.networks.saving import load_keras_model
from tf_style.training.checkpoints import architecture
from tf_style.training.config import TrainConfig
from tf_style.training.trainer import Trainer


class FastStyleTraining(Trainer):
    """Trains a transform network to paint photos in the style of one painting.

    Writes checkpoints to ``<output_dir>/checkpoints`` and TensorBoard
    summaries (losses; a stylised sample photo) to ``<output_dir>/logs``;
    resumes from the latest checkpoint there. It never writes the final model:
    the caller saves ``training.transform_net`` where it wants.

    Args:
        style_image: float32 (H, W, 3) RGB in [0, 1], the painting.
        image_paths: Training photos (see `tf_style.training.data.list_training_images`).
        config: The settings.
        output_dir: Folder for checkpoints and logs.
        strategy: A ``tf.distribute`` strategy; None for the default one.
        sample_image: float32 (H, W, 3) in [0, 1] stylised into TensorBoard
            every ``sample_every`` steps; None for a crop of the first photo.
        extractor_builder: Builds the loss network, with `build_feature_extractor`'s
            arguments (tests pass tiny random ones); None for the real one.

    Raises:
        ConfigError: a bad layer name, a crop too small for the layers, or a batch
            that does not split over the devices.
        ModelError: `output_dir` holds a checkpoint of a different network, or
            `init_model` is unreadable or not a `model_size` network.

    Example:
        >>> training = FastStyleTraining(painting, photo_paths, TrainConfig(backbone="vgg16_hed"),
        ...                              "runs/starry_night")  # doctest: +SKIP
        >>> for progress in training.run():  # doctest: +SKIP
        ...     print(progress.step, progress.losses["total_loss"])
        >>> training.transform_net.save("starry_night.keras")  # doctest: +SKIP
    """

    checkpoint_key = "transform_net"  # As checkpoints have always called it: older runs resume.

    def __init__(
        self,
        style_image: np.ndarray,
        image_paths: Sequence[str],
        config: TrainConfig,
        output_dir: str,
        strategy: tf.distribute.Strategy | None = None,
        sample_image: np.ndarray | None = None,
        extractor_builder=None,
    ):
        # Read first: a bad file is reported before the loss network is built.
        self._initial_network = load_keras_model(config.init_model) if config.init_model else None
        self.style_image = style_image
        self.extractor_builder = extractor_builder
        self.objective = config.objective()
        self.content_layers = list(self.objective.term("content_loss").layer_weights)
        super().__init__(image_paths, config, output_dir, strategy=strategy, sample_image=sample_image)

    @property
    def transform_net(self) -> TransformNet:
        """The network being trained."""
        return self.network

    def build_network(self) -> TransformNet:
        return TransformNet.from_preset(self.config.model_size, seed=self.config.seed)

    def trained_variables(self) -> list:
        """All the network's weights, or with ``trainable="norms"`` only its normalisations' γ and β."""
        if self.config.trainable == "all":
            return super().trained_variables()
        return [
            variable
            for layer in self.network.layers
            if isinstance(layer, InstanceNormalization)
            for variable in layer.trainable_variables
        ]

    def build_loss_networks(self) -> None:
        # The stylised batch needs every layer: one pass through the network gives them all.
        # The photos need only the content layers, so they stop early.
        self.loss_extractor = self.config.feature_extractor(self.objective.feature_layers, self.extractor_builder)
        self.content_extractor = self.config.feature_extractor(self.content_layers, self.extractor_builder)

    def prepare(self) -> None:
        config = self.config
        self.min_crop = self.loss_extractor.min_input_size
        if config.crop_size < self.min_crop:
            raise ConfigError(f"crop_size must be at least {self.min_crop} for these layers")
        style_size = max(self.min_crop, round(config.style_scale * config.crop_size))
        height, width = self.style_image.shape[:2]
        scale = style_size / max(height, width)
        style_image = resize_image(
            self.style_image, (max(self.min_crop, round(height * scale)), max(self.min_crop, round(width * scale)))
        )
        grams = self.objective.term("style_loss").target([self.loss_extractor(style_image[None])])
        self.target_grams = {name: tf.constant(gram) for name, gram in grams.items()}
        # The colour term's target: the painting's own pixels, at the size its Gram matrices come from.
        self.pixel_targets = {
            term.key: term.target([style_image]) for term in self.objective.terms if term.reads == "painting_pixels"
        }

    def start_from_scratch(self) -> None:
        """Starts from `init_model`'s weights when there is one (ModelError if they do not fit).

        A multi-style network (``multi_style``) starts the run from the even blend of its
        styles, baked into a one-style network: its convolutions, shared by all its
        paintings, are a start that already keeps the photo.
        """
        source, path = self._initial_network, self.config.init_model
        if source is None:
            return
        if getattr(source, "num_styles", 1) > 1:
            source = source.single_style([1.0] * source.num_styles)
        if architecture(source) != architecture(self.network):
            raise ModelError(
                f"init_model {path} is not a {self.config.model_size} network of this version of "
                "tf_style: pass its --model_size, or start without it"
            )
        self.network.set_weights(source.get_weights())

    def compute_losses(self, content_images: tf.Tensor) -> dict:
        """The objective's losses of one batch of photos (float32 scalars, means over the batch)."""
        stylized_images = self.network(content_images, training=True)
        stylized_features = self.loss_extractor(stylized_images)
        photo_content = self.content_extractor(content_images)
        targets = {
            "content_loss": {name: tf.stop_gradient(photo_content[name]) for name in self.content_layers},
            "style_loss": self.target_grams,
            **self.pixel_targets,
            **{term.key: term.target(content_images) for term in self.objective.terms if term.reads == "photo_pixels"},
        }
        return self.objective(stylized_images, stylized_features, targets)
