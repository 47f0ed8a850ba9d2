"""Image optimisation (Gatys, Ecker & Bethge, CVPR 2016).

The picture is a ``tf.Variable`` (1, H, W, 3) in [0, 1], optimised so that its
VGG features match the content image's and its Gram matrices match the style
images'. The story, top to bottom:

1. `ImageOptimization` fixes the output size and the coarse-to-fine scales.
2. At each scale, `_targets` computes the content features and the blended style
   Gram matrices once.
3. The objective (`tf_style.losses.objective`, built by the config: content,
   Gram style and total-variation terms; see `tf_style.losses.functional` for
   the normalisation) scores a picture against them.
4. One compiled function (`tf.function`, optionally XLA) gives the loss and the
   picture's gradient; a step updates the picture with it: Adam with clipping to
   [0, 1] (one compiled step), or an L-BFGS iteration whose history persists
   between steps (`tf_style.optimization.lbfgs`).
   A bfloat16 run whose L-BFGS line search stalls goes on in float32.
5. `run` yields a `Progress` after every step; it never writes files. The
   caller decides what to show and save, and may stop at any time and call
   `result`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_style import color, tiling
from tf_style.backbones.feature_extractor import FeatureExtractor
from tf_style.errors import ConfigError
from tf_style.io import images as images_lib
from tf_style.losses import functional
from tf_style.losses.objective import Objective
from tf_style.losses.terms import RegionGramStyleLoss
from tf_style.masks import resize_mask
from tf_style.optimization.config import StylizeConfig
from tf_style.optimization.lbfgs import LBFGS

STOP_REASONS = ("completed", "max_seconds", "non_finite_loss", "interrupted")
# L-BFGS's first step changes some pixel by at least one level of an 8-bit picture. The textbook
# first step (total change 1) moved no pixel of a 384-px picture by a tenth of a level; a network
# in bfloat16 rounds such a step away, and kodim02 x The Starry Night went on in float32 from its
# second step, at 3.5 times the time (docs/benchmarks.md, "A first step the picture can show").
_FIRST_STEP_CHANGE = 1.0 / 255.0


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where a run stands after one step.

    Attributes:
        step: Steps done so far, over all scales.
        total_steps: Steps the run will take if it is not stopped early.
        scale: 1-based index of the current scale; num_scales: how many there are.
        image_size: (height, width) of the current scale.
        losses: ``total_loss`` (weighted sum) and the unweighted ``content_loss``,
            ``style_loss``, ``tv_loss`` and ``style_loss/<layer>`` at the image
            before this step's update.
        elapsed_seconds: Wall time since `run` started.
        tile: 1-based index of the tile being optimised in a tiled scale (see
            `StylizeConfig.tile_size`); 0 when the scale is optimised whole.
            num_tiles: the scale's tile count (0 when whole). In a tiled scale,
            `losses` are the tile's.
    """

    step: int
    total_steps: int
    scale: int
    num_scales: int
    image_size: tuple[int, int]
    losses: dict
    elapsed_seconds: float
    tile: int = 0
    num_tiles: int = 0


@dataclasses.dataclass(frozen=True)
class StylizeResult:
    """The outcome of a run.

    Attributes:
        image: float32 (H, W, 3) RGB in [0, 1], at the full output size, colours
            preserved as configured.
        losses: The losses of the best picture (see `Progress.losses`).
        steps: Steps taken over all scales.
        elapsed_seconds: Wall time of the run.
        stop_reason: One of `STOP_REASONS`.
        scale_sizes: (height, width) of each scale optimised, coarse to fine; the
            last is larger than `image` when `StylizeConfig.min_working_size`
            enlarged the picture.
        precision: What the network computed in at the start: "float32" or
            "bfloat16" (``config.precision`` with "auto" resolved).
        float32_from_step: The first step computed in float32 after a
            bfloat16 start stalled; None when that did not happen.
    """

    image: np.ndarray
    losses: dict
    steps: int
    elapsed_seconds: float
    stop_reason: str
    scale_sizes: list
    precision: str = "float32"
    float32_from_step: int | None = None


class ImageOptimization:
    """One style-transfer run: set up, step through with `run`, read `result`.

    Args:
        content_image: float (H, W, 3) RGB in [0, 1]; None paints a texture of
            ``config.output_size`` (no content term).
        style_images: One or more float (h, w, 3) RGB images in [0, 1].
        config: The settings; defaults to `StylizeConfig()`.
        extractor: A feature extractor from `build_feature_extractor` that covers
            the config's layers; built from the config when None.
        style_masks: One mask per style image, float (H, W) in [0, 1] with the
            photo's shape (any resolution): where that painting's style goes
            (masked Gram matrices, carried to each layer's resolution).
        content_mask: float (H, W) in [0, 1]: where to stylise at all; outside it
            the picture is the photo.

    Raises:
        ConfigError: inconsistent settings (e.g. a blend weight per style image).
        ImageError: an image array of the wrong shape.
        WeightsError: the backbone's weights cannot be had.

    Example:
        >>> run = ImageOptimization(photo, [painting], StylizeConfig(backbone="vgg16_hed"))  # doctest: +SKIP
        >>> for progress in run.run():  # doctest: +SKIP
        ...     print(progress.step, progress.losses["total_loss"])
        >>> picture = run.result().image  # doctest: +SKIP
    """

    def __init__(
        self,
        content_image: np.ndarray | None,
        style_images: Sequence[np.ndarray],
        config: StylizeConfig | None = None,
        extractor: FeatureExtractor | None = None,
        style_masks: Sequence[np.ndarray] | None = None,
        content_mask: np.ndarray | None = None,
    ):
        self.config = config = config or StylizeConfig()
        if isinstance(style_images, np.ndarray) and style_images.ndim == 3:
            style_images = [style_images]
        if (content_image is None) == (config.output_size is None):
            raise ConfigError("give either a content image or an output_size (a texture), not both or neither")
        self.content_image = None
        if content_image is not None:
            self.content_image = images_lib.check_image_array(content_image, "content image")
        self.style_images = [images_lib.check_image_array(image, "style image") for image in style_images]
        if not self.style_images:
            raise ConfigError("at least one style image is needed")
        if config.style_blend is not None and len(config.style_blend) != len(self.style_images):
            raise ConfigError(
                f"style_blend has {len(config.style_blend)} weights for {len(self.style_images)} style images"
            )
        if config.preserve_colors == "histogram":
            self.style_images = [color.match_color_histogram(image, self.content_image) for image in self.style_images]

        self.style_masks, self.content_mask = self._check_masks(style_masks, content_mask)
        self.objective = config.objective()
        if self.style_masks is not None:  # One region per painting: masked Gram matrices.
            if config.style_loss != ("gram",):
                raise ConfigError("masks work with the Gram style loss only (--style_loss=gram)")
            if config.color_weight:
                raise ConfigError(
                    "style masks and color_weight do not go together yet: the colour term would pull every "
                    "region toward all the paintings' colours"
                )
            self.objective = Objective(
                [
                    RegionGramStyleLoss(term.layer_weights, term.weight) if term.key == "style_loss" else term
                    for term in self.objective.terms
                ]
            )
        if self.content_image is None:  # A texture: the paintings alone.
            self.objective = Objective([term for term in self.objective.terms if term.reads != "photo"])
        if extractor is None:
            extractor = config.feature_extractor(self.objective.feature_layers)
        self.extractor = extractor
        self.precision = extractor.precision
        self._float32_from_step: int | None = None
        missing = set(self.objective.feature_layers) - set(extractor.feature_layers)
        if missing:
            raise ConfigError(f"the feature extractor does not give layers {sorted(missing)}")

        # Below this side the deepest layer's maps would be under 2 x 2 pixels.
        self.min_side = 2 * extractor.min_input_size
        if self.content_image is None:
            self.scale_sizes = _scale_sizes(config.output_size, max(config.output_size), config.scales, self.min_side)
            self.output_shape = self.scale_sizes[-1]
        else:  # The picture's size, and the larger one it may be optimised at.
            self.output_shape = _scale_sizes(self.content_image.shape[:2], config.max_size, 1, self.min_side)[-1]
            working = _working_shape(self.output_shape, config.min_working_size)
            self.scale_sizes = _scale_sizes(working, max(working), config.scales, self.min_side)
        # Scales too large to optimise whole go tile by tile (a texture never: it must wrap).
        self.tiled = [self.content_image is not None and max(size) > config.tile_size for size in self.scale_sizes]
        if any(self.tiled) and config.tile_size < self.min_side:
            raise ConfigError(f"tile_size must be at least the {self.min_side} pixels the network needs")
        if any(self.tiled) and config.style_loss != ("gram",):
            raise ConfigError(
                f"pictures larger than tile_size {config.tile_size} are optimised in tiles, which take the "
                "Gram style loss only; use a smaller max_size or a larger tile_size"
            )
        self.total_steps = sum(
            len(tiling.tile_boxes(size, config.tile_size, config.tile_overlap))
            * (config.tile_steps or config.num_steps)
            if tiled
            else config.num_steps
            for size, tiled in zip(self.scale_sizes, self.tiled)
        )

        self._steps_done = 0
        self._elapsed = 0.0
        self._stop_reason = "completed"
        self._best_image: tf.Variable | None = None  # Per scale: the best picture and its loss,
        self._best_loss_variable: tf.Variable | None = None  # in graph (Adam) and in Python.
        self._best_loss = math.inf
        self._best_losses: dict = {}
        self.step_function = None  # The compiled step of the current scale (exposed for tests).
        self._picture: np.ndarray | None = None  # A tiled scale's whole picture.
        self._start_time = 0.0

    def _check_masks(self, style_masks, content_mask):
        """The masks as float32 (H, W) in [0, 1]: each painting's region (its style mask times the
        content mask), or None without masks; and the content mask (None for none)."""
        if style_masks is None and content_mask is None:
            return None, None
        if self.content_image is None:
            raise ConfigError("masks need a photo; a texture (output_size) has none")
        shape = self.content_image.shape[:2]

        def checked(mask, role):
            mask = np.asarray(mask, np.float32)
            if mask.ndim == 3:
                mask = mask.mean(axis=-1)
            if mask.ndim != 2 or abs(mask.shape[1] / mask.shape[0] - shape[1] / shape[0]) > 0.01 * shape[1] / shape[0]:
                raise ConfigError(
                    f"the {role} is {mask.shape[1]}x{mask.shape[0]}, the photo {shape[1]}x{shape[0]}: "
                    "a mask must have the photo's shape"
                )
            if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
                raise ConfigError(f"the {role} must hold values in [0, 1]")
            return mask

        content_mask = None if content_mask is None else checked(content_mask, "content mask")
        if style_masks is None:
            regions = [content_mask] * len(self.style_images)
        else:
            if len(style_masks) != len(self.style_images):
                raise ConfigError(f"{len(style_masks)} style masks for {len(self.style_images)} style images")
            regions = [checked(mask, "style mask") for mask in style_masks]
            if content_mask is not None:
                regions = [region * resize_mask(content_mask, region.shape) for region in regions]
        for index, region in enumerate(regions):
            if region.max() <= 0:
                raise ConfigError(f"the mask of style image {index + 1} is empty: it marks no pixel")
        return regions, content_mask

    def _regions(self, size) -> list:
        """Each painting's region (its style mask times the content mask), (H, W) at the picture's `size`."""
        return [resize_mask(region, size) for region in self.style_masks]

    @staticmethod
    def _layer_masks(regions, features) -> dict:
        """{layer: each painting's region at the layer's resolution, (1, h, w, 1)}: `regions` (H, W),
        at the size of the image `features` were computed from, area-averaged to each map's size (a
        feature half in a region counts half)."""
        regions = [np.asarray(region, np.float32)[None, ..., None] for region in regions]
        masks = {}
        for name, maps in features.items():
            height, width = int(maps.shape[1]), int(maps.shape[2])
            masks[name] = [tf.image.resize(region, (height, width), method="area") for region in regions]
        return masks

    # Objective ---------------------------------------------------------------

    def _targets(self, size):
        """The photo at `size` (None for a texture) and the objective's targets there: its features, the
        paintings' Gram matrices."""
        content = content_features = None
        targets = {}
        if self.content_image is not None:
            content = images_lib.resize_image(self.content_image, size)
            targets, content_features = self._photo_targets(content)
        targets.update(self._painting_targets(size, content_features))
        return content, targets

    def _photo_targets(self, photo):
        """The targets of the terms that read the photo (H, W, 3) in [0, 1], and its features."""
        features = self._features(photo[None])
        targets = {}
        for term in self.objective.terms:
            if term.reads == "photo":
                targets[term.key] = term.target(features)
            elif term.reads == "photo_pixels":
                targets[term.key] = term.target(photo)
        return targets, features

    def _painting_targets(self, size, content_features):
        """The targets of the terms that read the paintings, for a whole picture of `size`."""
        targets = {}
        for term in self.objective.terms:
            if term.reads == "paintings":
                targets[term.key] = term.target(self._painting_features(size), self.config.style_blend)
            elif term.reads == "painting_regions":
                layer_masks = self._layer_masks(self._regions(size), content_features)
                targets[term.key] = term.target(self._painting_features(size), layer_masks, self.config.style_blend)
        return {**targets, **self._painting_pixel_targets}

    @functools.cached_property
    def _painting_pixel_targets(self):
        """The targets of the terms that read the paintings' pixels: the same at every size and in every
        tile, so computed once."""
        return {
            term.key: term.target(self.style_images, self.config.style_blend)
            for term in self.objective.terms
            if term.reads == "painting_pixels"
        }

    def _painting_features(self, size, tiled: bool = False):
        """Yields each painting's features, one painting at a time, for a picture of `size`.

        A painting is resized so that its longer side is `style_scale` times the
        picture's; for a `tiled` scale, never past the larger of its own side and
        the tile's (enlarging it would add blur, not detail, and memory).
        """
        style_side = max(self.min_side, round(self.config.style_scale * max(size)))
        for style_image in self.style_images:
            side = style_side
            if tiled:
                side = min(side, max(max(style_image.shape[:2]), self.config.tile_size))
            style_size = images_lib.fit_within(style_image.shape[:2], side)
            if min(style_size) < self.min_side:  # A very wide or tall painting.
                grow = self.min_side / min(style_size)
                style_size = (math.ceil(style_size[0] * grow), math.ceil(style_size[1] * grow))
            yield self._features(images_lib.resize_image(style_image, style_size)[None])

    def _features(self, image):
        """The loss network's features of an image batch (1, H, W, 3), seen with `config.boundary`."""
        return self.extractor(image, boundary=self.config.boundary)

    def _losses(self, image, targets):
        """The objective's losses for an image batch (1, H, W, 3); `total_loss` is what is minimised."""
        return self.objective(image, self._features(image), targets)

    # Initialisation ----------------------------------------------------------

    def _initial_image(self, size, content):
        """The starting picture (H, W, 3) in [0, 1]: the one `config.init` names, plus `init_noise`."""
        image = self._init_image(size, content)
        if self.config.init_noise > 0:
            # Its own stream, so that init="noise" with init_noise does not reuse the same draws.
            rng = np.random.default_rng([self.config.seed, 1])
            noise = rng.standard_normal(image.shape).astype(np.float32) * self.config.init_noise
            image = np.clip(image + noise, 0.0, 1.0)
        return image

    def _init_image(self, size, content):
        """The picture `config.init` names, at `size`, before any noise.

        A texture (`content` None) has no photo to start from: the photo kinds
        ("content", "recolored_content") start it from noise in the paintings' colours.
        """
        init = self.config.init
        if init == "noise" or (content is None and init in ("content", "recolored_content")):
            rng = np.random.default_rng(self.config.seed)
            noise = rng.uniform(0.0, 1.0, size=(*size, 3)).astype(np.float32)
            if init == "noise":
                return noise
            content = noise
        if init == "content":
            return content
        if init == "recolored_content":
            if self.config.preserve_colors != "none":  # The photo's colours are to be kept: start in them.
                return content
            return color.match_color_statistics(
                content, *color.color_statistics(self.style_images, self.config.style_blend)
            )
        if init == "style":
            return images_lib.resize_image(self.style_images[0], size)
        return images_lib.resize_image(images_lib.load_image(init, max_size=max(size)), size)

    # Steps -------------------------------------------------------------------

    def _make_step(self, image, targets):
        """A compiled function doing one optimiser step on `image`; it returns the losses.

        It also has ``reset()`` (forget the optimiser's state, for the next tile),
        ``stalled()``, ``tracing_count()`` and ``losses_describe``: "current" when
        the losses describe the image after the step (L-BFGS), "before_update"
        (Adam: then ``score()`` gives the losses of the image as it is). It
        becomes `step_function`.
        """
        config = self.config

        # Its own tf.function, so that XLA compiles this part only: compiling the whole L-BFGS
        # iteration, with its data-dependent loops, recompiles again and again. It has no
        # Python control flow on tensors, so AutoGraph is off (converting the source of the
        # losses it calls made the first step slower).
        @tf.function(jit_compile=config.xla, autograph=False)
        def value_and_gradient(x):
            # Only the picture's gradient: recording the network's (trainable) kernels would
            # make the tape keep what a kernel gradient needs.
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                losses = self._losses(x, targets)
            return losses["total_loss"], tape.gradient(losses["total_loss"], x), losses

        if config.optimizer == "lbfgs":
            lbfgs = LBFGS(
                image,
                value_and_gradient,
                memory=config.lbfgs_memory,
                learning_rate=config.step_size,
                bounds=(0.0, 1.0),
                scaling=config.lbfgs_scaling,
                min_first_change=_FIRST_STEP_CHANGE,
            )

            def lbfgs_step():
                _, losses = lbfgs.step()
                return losses

            lbfgs_step.tracing_count = lbfgs.tracing_count
            lbfgs_step.stalled = lambda: lbfgs.failed_line_searches > 0
            lbfgs_step.reset = lbfgs.reset
            lbfgs_step.losses_describe = "current"
            self.step_function = lbfgs_step
            return lbfgs_step

        optimizer = keras.optimizers.Adam(learning_rate=config.step_size, beta_1=0.99, epsilon=config.adam_epsilon)
        optimizer.build([image])

        @tf.function
        def adam_step():
            loss, gradient, losses = value_and_gradient(tf.convert_to_tensor(image))
            # The losses describe the image before the update: keep it if it is the best so far.
            if tf.math.is_finite(loss) and loss < self._best_loss_variable:
                self._best_loss_variable.assign(loss)
                self._best_image.assign(image)
            optimizer.apply_gradients([(gradient, image)])
            image.assign(tf.clip_by_value(image, 0.0, 1.0))
            return losses

        def reset():  # The step count and the moments start again; the learning rate stays.
            optimizer.iterations.assign(0)
            for variable in optimizer.variables:
                if "_momentum" in variable.path or "_velocity" in variable.path:
                    variable.assign(tf.zeros_like(variable))

        adam_step.tracing_count = adam_step.experimental_get_tracing_count
        adam_step.stalled = lambda: False
        adam_step.reset = reset
        adam_step.score = lambda: self._losses(tf.convert_to_tensor(image), targets)
        adam_step.losses_describe = "before_update"
        self.step_function = adam_step
        return adam_step

    def run(self) -> Iterator[Progress]:
        """Optimises the picture, yielding a `Progress` after each step.

        Stops early (see `result().stop_reason`) when `max_seconds` is reached or
        the loss stops being finite. Call it once per object.
        """
        self._start_time = time.perf_counter()
        deadlines = self._scale_deadlines()
        previous = None
        for scale_index, size in enumerate(self.scale_sizes):
            if self.tiled[scale_index]:
                picture = images_lib.resize_image(previous, size) if previous is not None else None
                previous = yield from self._run_tiled_scale(scale_index, size, picture, deadlines)
            else:
                previous = yield from self._run_whole_scale(scale_index, size, previous, deadlines[scale_index])
            if self._stop_reason != "completed":
                break
        self._elapsed = time.perf_counter() - self._start_time

    def _run_whole_scale(self, scale_index, size, previous, deadline):
        """Optimises the whole picture at `size`, starting from `previous` (a coarser scale's
        picture) or from `config.init`; yields a `Progress` per step, returns the picture."""
        content, targets = self._targets(size)
        initial = self._initial_image(size, content) if previous is None else images_lib.resize_image(previous, size)
        image = tf.Variable(initial[None], name="image")
        self._best_image = tf.Variable(initial[None], name="best_image", trainable=False)
        self._best_loss_variable = tf.Variable(math.inf, trainable=False)
        step = self._make_step(image, targets)

        def in_float32():
            # The picture stays; its targets, step and best-loss record start afresh in float32
            # (losses in the two precisions differ by more than a late step gains).
            _, targets = self._targets(size)
            return self._make_step(image, targets)

        yield from self._steps(step, image, self.config.num_steps, deadline, (scale_index, size, 0, 0), in_float32)
        return self._best_image.numpy()[0]

    def _run_tiled_scale(self, scale_index, size, picture, deadlines):
        """Optimises the picture at `size` tile by tile (see `StylizeConfig.tile_size`), starting from
        `picture` (H, W, 3) or, when None, from `config.init`; yields a `Progress` per step, returns
        the picture.

        Every tile starts from the same picture, and the tiles are blended with weights that sum to
        one wherever they overlap, so each pixel is styled as much as any other. (Starting each tile
        from the picture its finished neighbours had already styled styled the overlaps twice: the
        bands where tiles met carried 20-35 % more fine texture than the rest; see
        docs/benchmarks.md, "Print sizes".)
        """
        config = self.config
        photo = images_lib.resize_image(self.content_image, size)
        from_coarser = picture is not None
        if picture is None:
            picture = self._initial_image(size, photo)
        start_picture = np.asarray(picture, np.float32)
        self._picture = start_picture.copy()  # What `result` gives: the tiles done so far, blended.
        boxes = tiling.tile_boxes(size, config.tile_size, config.tile_overlap)
        weights = [tiling.blend_weights(box, size, config.tile_overlap) for box in boxes]
        blended = np.zeros_like(start_picture)
        weight_sums = np.zeros((*size, 1), np.float32)

        style_targets = self._tile_style_targets(size, start_picture, from_coarser, boxes, weights)

        scale_start = time.perf_counter()
        image = variables = step = None
        for index, box in enumerate(boxes):
            targets, _ = self._photo_targets(_crop(photo, box))
            targets["style_loss"] = style_targets[index]
            tile = _crop(start_picture, box)[None]
            if step is None:  # One compiled step for every tile: the targets are variables.
                variables = tf.nest.map_structure(lambda value: tf.Variable(value, trainable=False), targets)
                image = tf.Variable(tile, name="image")
                self._best_image = tf.Variable(tile, name="best_image", trainable=False)
                self._best_loss_variable = tf.Variable(math.inf, trainable=False)
                # The paintings' colours are the same for every tile: constants of the step.
                step = self._make_step(image, {**variables, **self._painting_pixel_targets})
            else:
                tf.nest.map_structure(lambda variable, value: variable.assign(value), variables, targets)
                image.assign(tile)
                self._best_image.assign(tile)
                self._best_loss_variable.assign(math.inf)
                step.reset()
            # Each tile gets an equal share of the scale's time.
            deadline = deadlines[scale_index]
            if math.isfinite(deadline):
                elapsed = scale_start - self._start_time
                deadline = elapsed + (deadline - elapsed) * (index + 1) / len(boxes)
            steps = config.tile_steps or config.num_steps
            yield from self._steps(step, image, steps, deadline, (scale_index, size, index + 1, len(boxes)))
            top, bottom, left, right = box
            blended[top:bottom, left:right] += weights[index] * self._best_image.numpy()[0]
            weight_sums[top:bottom, left:right] += weights[index]
            done = weight_sums[top:bottom, left:right, 0] > 0
            self._picture[top:bottom, left:right][done] = (
                blended[top:bottom, left:right][done] / weight_sums[top:bottom, left:right][done]
            )
            if self._stop_reason not in ("completed", "max_seconds"):
                break
        return self._picture

    def _tile_style_targets(self, size, start_picture, from_coarser, boxes, weights) -> list:
        """Each tile's ``style_loss`` target at a tiled scale of `size`.

        When the scale starts from a coarser scale's picture (`from_coarser`), each
        tile matches the paintings' Gram matrices plus its own difference from the
        tiles' mean (weighted by the share each tile paints) in `start_picture`
        (H, W, 3): the tiles keep the layout the coarser scale gave them. A first
        scale starts from the photo, whose differences are not the painting's (its
        smooth sky would stay smooth), so each tile matches the paintings' Gram
        matrices. With masks, the same per painting's region: the tile's masked Gram
        matrices, shares weighted by how much of the region each tile paints; a tile
        that paints none of a region gets no gradient from that painting.
        """
        term = self.objective.term("style_loss")

        def own_targets(painting_grams, start_grams, painted):
            """One {layer: Gram matrix} per tile, from the paintings' and each tile's at the start."""
            if not from_coarser:
                return [dict(painting_grams) for _ in boxes]
            shares = np.array(painted) / sum(painted) if sum(painted) > 0 else np.full(len(boxes), 1 / len(boxes))
            return tile_gram_targets(painting_grams, start_grams, shares)

        layers = list(term.layer_weights)
        regions = None if self.style_masks is None else self._regions(size)
        tile_masks = []  # [tile] {layer: [each painting's region at that layer]} (with masks).
        start_grams = []  # [tile] {layer: Gram matrix} or, with masks, [tile][painting] {layer: ...}.
        # The start's features give its Gram matrices and, with masks, each layer's map size. One
        # tile's at a time: at print sizes they are large.
        for box in boxes if from_coarser or regions is not None else ():
            features = self._features(_crop(start_picture, box)[None])
            features = {layer: features[layer] for layer in layers}
            if regions is None:
                start_grams.append(term.target([features]))
                continue
            masks = self._layer_masks([_crop(region, box) for region in regions], features)
            tile_masks.append(masks)
            start_grams.append(
                [
                    {layer: functional.masked_gram_matrix(features[layer], masks[layer][k]) for layer in layers}
                    for k in range(len(regions))
                ]
            )
        if regions is None:
            painting_grams = term.target(self._painting_features(size, tiled=True), self.config.style_blend)
            return own_targets(painting_grams, start_grams, [float(weight.sum()) for weight in weights])

        target = term.target(self._painting_features(size, tiled=True), tile_masks[0], self.config.style_blend)
        per_painting = []  # [painting][tile] {layer: Gram matrix to match}.
        present = []  # [painting][tile] whether the tile paints at least a pixel's worth of the region.
        for k, region in enumerate(regions):
            painted = [float((weight[..., 0] * _crop(region, box)).sum()) for box, weight in zip(boxes, weights)]
            own_grams = {layer: grams[k] for layer, grams in target["grams"].items()}
            per_painting.append(own_targets(own_grams, [grams[k] for grams in start_grams], painted))
            present.append([amount >= 1.0 for amount in painted])
        # A painting whose region a tile lacks has no share there (its term would be a constant in
        # the tile's loss, and the losses shown would not say how far the tile is from its styles).
        return [
            dict(
                target,
                masks=masks,
                grams={layer: [each[t][layer] for each in per_painting] for layer in layers},
                shares=[share if present[k][t] else 0.0 for k, share in enumerate(target["shares"])],
            )
            for t, masks in enumerate(tile_masks)
        ]

    def _steps(self, step, image, count, deadline, where, in_float32=None):
        """Takes up to `count` steps of `step` on `image`, keeping the best picture in
        `self._best_image`; yields a `Progress` per step.

        Args:
            step: From `_make_step`.
            image: The variable `step` updates.
            count: Steps to take.
            deadline: Seconds since the run's start at which to stop.
            where: (scale index, size, tile, num_tiles) for the `Progress`.
            in_float32: Called when a bfloat16 L-BFGS run stalls: gives a float32 step for the
                same image; None to go on as is.
        """
        scale_index, size, tile, num_tiles = where
        self._best_loss = math.inf
        for _ in range(count):
            if time.perf_counter() - self._start_time >= deadline:
                if scale_index == len(self.scale_sizes) - 1:
                    self._stop_reason = "max_seconds"
                break  # This scale's (or tile's) share of the time is used up: go on to the next.
            losses = {name: float(value) for name, value in step().items()}
            self._elapsed = time.perf_counter() - self._start_time
            total = losses["total_loss"]
            if not math.isfinite(total):  # `steps` then counts the good steps only.
                self._stop_reason = "non_finite_loss"
                break
            self._steps_done += 1
            if total < self._best_loss:
                self._best_loss, self._best_losses = total, losses
                if step.losses_describe == "current":
                    self._best_image.assign(image)
            yield Progress(
                self._steps_done,
                self.total_steps,
                scale_index + 1,
                len(self.scale_sizes),
                tuple(size),
                losses,
                self._elapsed,
                tile,
                num_tiles,
            )
            if in_float32 is not None and step.stalled() and self._leave_bfloat16():
                step = in_float32()
                self.step_function = step
                self._best_loss = math.inf
        if step.losses_describe == "before_update" and self._stop_reason != "non_finite_loss":
            # Adam's last update has not been scored yet; it is usually the best, so score it.
            final_losses = {name: float(value) for name, value in step.score().items()}
            if math.isfinite(final_losses["total_loss"]) and final_losses["total_loss"] < self._best_loss:
                self._best_loss, self._best_losses = final_losses["total_loss"], final_losses
                self._best_image.assign(image)

    def _leave_bfloat16(self) -> bool:
        """Switches the extractor to float32 if it computes in bfloat16; returns whether it did.

        bfloat16 keeps 8 significant bits (2-3 decimal digits) per feature, and
        late in a run (after some 200 steps at 256 px) L-BFGS's line search can
        no longer find a step whose gain that rounding does not hide: the run
        would stall. From then on float32 is the faster choice. Switches once.
        """
        if (
            self.precision != "bfloat16"
            or self._float32_from_step is not None
            or not isinstance(self.extractor, FeatureExtractor)
        ):
            return False
        self.extractor = self.extractor.with_precision("float32")
        self._float32_from_step = self._steps_done + 1
        return True

    def _scale_deadlines(self) -> list:
        """Seconds since the start by which each scale must end (all infinite without max_seconds).

        With a time limit, each scale gets a share in proportion to its pixel
        count (its cost per step), so coarse scales cannot eat the budget of
        the full-size one; with 3 scales the full size gets 16/21 of the time.
        """
        if self.config.max_seconds is None:
            return [math.inf] * len(self.scale_sizes)
        costs = np.cumsum([height * width for height, width in self.scale_sizes], dtype=np.float64)
        return [self.config.max_seconds * cost / costs[-1] for cost in costs]

    @property
    def has_picture(self) -> bool:
        """Whether `result` has a picture to give (the first scale has started)."""
        return self._best_image is not None or self._picture is not None

    def interrupt(self) -> None:
        """Marks the run as interrupted (for a caller that stops iterating on Ctrl-C)."""
        self._stop_reason = "interrupted"

    def result(self) -> StylizeResult:
        """The best picture so far, at full size; valid at any time after the first step.

        Raises:
            ConfigError: no step has run yet.
        """
        if not self.has_picture:
            raise ConfigError("the run has not started: no picture yet")
        final_size = self.output_shape
        # A tiled scale's picture with the tiles done so far, or a whole scale's best picture.
        picture = self._picture if self._picture is not None else self._best_image.numpy()[0]
        image = np.clip(picture, 0.0, 1.0)
        if image.shape[:2] != tuple(final_size):
            image = images_lib.resize_image(image, final_size)
        if self.content_image is not None:
            content = images_lib.resize_image(self.content_image, final_size)
        if self.config.preserve_colors == "luminance":
            image = color.transfer_luminance(image, content)
        if self.content_mask is not None:  # Outside the mask, the photo.
            inside = resize_mask(self.content_mask, final_size)[..., None]
            image = inside * image + (1.0 - inside) * content
        return StylizeResult(
            image=image,
            losses=dict(self._best_losses),
            steps=self._steps_done,
            elapsed_seconds=self._elapsed,
            stop_reason=self._stop_reason,
            scale_sizes=[tuple(size) for size in self.scale_sizes],
            precision=self.precision,
            float32_from_step=self._float32_from_step,
        )


def stylize(
    content_image: np.ndarray,
    style_images: Sequence[np.ndarray] | np.ndarray,
    config: StylizeConfig | None = None,
    extractor: FeatureExtractor | None = None,
    callback=None,
    style_masks: Sequence[np.ndarray] | None = None,
    content_mask: np.ndarray | None = None,
) -> StylizeResult:
    """Repaints `content_image` in the style of `style_images`; see `ImageOptimization`.

    Args:
        content_image: float (H, W, 3) RGB in [0, 1].
        style_images: One (h, w, 3) image or a list of them, RGB in [0, 1].
        config: The settings; defaults to `StylizeConfig()`.
        extractor: Optional prebuilt feature extractor (reuse it across calls).
        callback: Called with each `Progress`.
        style_masks: One (H, W) mask in [0, 1] per style image: where its style goes.
        content_mask: (H, W) mask in [0, 1]: where to stylise at all.

    Returns:
        A `StylizeResult`; its ``image`` is float32 (H', W', 3) in [0, 1], the
        content resized to ``config.max_size``.

    Example:
        >>> from tf_style import load_image, stylize, StylizeConfig
        >>> result = stylize(load_image("photo.jpg"), load_image("painting.jpg"),
        ...                  StylizeConfig(backbone="vgg16_hed", max_size=256))  # doctest: +SKIP
    """
    optimization = ImageOptimization(content_image, style_images, config, extractor, style_masks, content_mask)
    for progress in optimization.run():
        if callback is not None:
            callback(progress)
    return optimization.result()


def tile_gram_targets(painting_grams: dict, tile_grams: Sequence[dict], shares) -> list[dict]:
    """Each tile's Gram matrices to match: the paintings' plus the tile's difference from the tiles' mean.

    Their mean, weighted by `shares`, is the paintings' Gram matrices: together the
    tiles have the paintings' global statistics; and each tile keeps what set it
    apart from the others at the start (a tile of sky, one of trees: the layout of
    the coarser scale).

    Args:
        painting_grams: {layer: (1, C, C)} the paintings' (blended) Gram matrices.
        tile_grams: One {layer: (1, C, C)} per tile, at the start of the scale.
        shares: One weight per tile, summing to 1 (the share of the picture it paints).

    Returns:
        One {layer: (1, C, C)} per tile.
    """
    mean = {
        layer: functional.add_all([share * grams[layer] for share, grams in zip(shares, tile_grams)])
        for layer in painting_grams
    }
    return [
        {layer: painting_grams[layer] + grams[layer] - mean[layer] for layer in painting_grams} for grams in tile_grams
    ]


def _crop(array, box):
    """The part of an (H, W, ...) array inside `box` = (top, bottom, left, right)."""
    top, bottom, left, right = box
    return array[top:bottom, left:right]


def _working_shape(shape, min_working_size: int) -> tuple[int, int]:
    """`shape` enlarged so that its longer side is at least `min_working_size`."""
    grow = min_working_size / max(shape)
    return tuple(shape) if grow <= 1 else (round(shape[0] * grow), round(shape[1] * grow))


def _scale_sizes(shape, max_size: int, scales: int, min_side: int) -> list:
    """Output sizes coarse to fine; the finest fits `max_size`, each coarser one is half.

    Raises:
        ConfigError: the photo is so elongated that its shorter side would be under
            `min_side` at `max_size` (enlarging it would break `max_size`).
    """
    height, width = shape
    if max(height, width) > max_size:
        height, width = images_lib.fit_within((height, width), max_size)
    if min(height, width) < min_side:  # Too small for the network: enlarge, within max_size.
        grow = min_side / min(height, width)
        height, width = math.ceil(height * grow), math.ceil(width * grow)
        if max(height, width) > max_size:
            needed = math.ceil(max(shape) * min_side / min(shape))
            raise ConfigError(
                f"the photo is {shape[1]}x{shape[0]}: at max_size {max_size} its shorter side would "
                f"be under the {min_side} pixels the network needs; use a max_size of at least "
                f"{needed}"
            )
    sizes = []
    for level in range(scales - 1, -1, -1):
        size = (round(height / 2**level), round(width / 2**level))
        if min(size) >= min_side:
            sizes.append(size)
    return sizes
