"""Settings of image optimisation, every default in one place.

Field names are the CLI flag names and the manifest keys: one spelling per idea.
"""

from __future__ import annotations

import dataclasses
import os

from tf_style.backbones import vgg
from tf_style.backbones.boundary import BOUNDARIES
from tf_style.errors import ConfigError
from tf_style.losses.config import LossConfig
from tf_style.losses.objective import Objective
from tf_style.losses.terms import GramStyleLoss, MattingLaplacianLoss, MRFStyleLoss, SlicedWassersteinStyleLoss
from tf_style.optimization.lbfgs import SCALINGS as LBFGS_SCALINGS
from tf_style.validation import check_choice, check_finite, check_layer_weights, check_whole

OPTIMIZERS = ("lbfgs", "adam")
COLOR_MODES = ("none", "luminance", "histogram")
INIT_KINDS = ("recolored_content", "content", "noise", "style")  # or a path to an image file
DEFAULT_LEARNING_RATE = {"adam": 0.02, "lbfgs": 1.0}
STYLE_LOSSES = ("gram", "sliced_wasserstein", "histogram", "mrf")
# The layers of Li & Wand (2016) for the MRF loss (its patches are too many at block1 and block2).
MRF_LAYERS = ("block3_conv1", "block4_conv1")
# A texture's longest side. Optimised in one piece, a texture takes about 2.3 kB of memory a
# pixel (peak resident memory on the AMD EPYC machine: 3.4 GB at 1024 x 1024, 10.3 GB at
# 2048 x 2048, float32), so 4096 x 4096 would need some 40 GB. A picture of a photo goes
# beyond this in tiles (`tile_size`); a texture is optimised whole, so that it can wrap.
MAX_TEXTURE_SIDE = 2048
# Chosen by eye as 1e5 at style weight 4 (1e3 and 1e4 left blotches); scaled with the style weight
# when it became 10: at 1e5 green and purple blotches came back (docs/benchmarks.md).
PHOTOREALISM_WEIGHT = 2.5e5
STYLIZE_CONTENT_LAYERS = ("block3_conv2", "block4_conv2")


@dataclasses.dataclass(frozen=True)
class StylizeConfig(LossConfig):
    """Everything that decides an image-optimisation run.

    The loss network, its layers and the loss weights are `LossConfig`'s fields
    (`backbone`, `vgg_weights`, `pooling`, `precision`, `content_layers`,
    `content_layer_weights`, `style_layers`, `style_layer_weights`,
    `content_weight`, `style_weight`, `tv_weight`). ``precision="auto"`` (the
    default) computes in bfloat16 on CPUs with AMX; a bfloat16 L-BFGS run
    whose line search stalls goes on in float32. Image optimisation takes the
    photo at ``block3_conv2`` and ``block4_conv2`` and a style weight of 10
    (training keeps `LossConfig`'s ``block4_conv2`` and its own weight).

    Attributes:
        style_blend: One positive weight per style image; None for equal.
        style_scale: Style images are resized so their longer side is this times
            the picture's longer side (smaller: finer brush strokes).
        max_size: Longer side of the output in pixels (photos are shrunk, never enlarged).
        min_working_size: A picture of a photo whose longer side is shorter than
            this is optimised at this size and reduced at the end. The loss
            network's receptive fields are fixed in pixels: in a 256-pixel picture
            they take a house's windows for one feature and paint them as blobs,
            where a 384-pixel picture keeps them (docs/benchmarks.md). 0 optimises
            every picture at its own size. Textures are always optimised at their
            `output_size`.
        num_steps: Optimiser steps at each scale.
        optimizer: "lbfgs" or "adam".
        learning_rate: Adam's step size, or L-BFGS's initial step; None for the
            optimiser's default (0.02 and 1.0).
        lbfgs_memory: Number of curvature pairs L-BFGS remembers.
        lbfgs_scaling: L-BFGS's initial inverse Hessian: "diagonal" (per-pixel
            step sizes from a running mean of squared gradients, as in Adam;
            fewer steps to the same picture, see docs/benchmarks.md) or
            "scalar" (the textbook multiple of the identity).
        adam_epsilon: Adam's epsilon. Our losses are ratios of order one, so
            pixel gradients are small (about 1e-4): an epsilon like the
            TensorFlow tutorial's 0.1 (made for losses of order 1e6) would
            swamp them and stall Adam. Adam uses beta_1 = 0.99, as the tutorial.
        init: The starting picture: "recolored_content" (the photo with the
            painting's colour mean and covariance; several paintings: their blend's;
            the photo as is when `preserve_colors` keeps its colours),
            "content" (the photo), "noise", "style" (the first painting), or the
            path of an image. Starting in the painting's colours reaches the Adam
            baseline's closeness to the style in half the steps the photo needs
            (see docs/benchmarks.md).
        init_noise: Standard deviation of Gaussian noise added to the starting
            picture (in [0, 1] units, then clipped); 0 adds none.
        seed: Seeds the noise (``init="noise"`` and `init_noise`); same seed, same
            picture. For bit-identical pictures at 512 px and above, TensorFlow must
            run one op at a time, as `tf-style stylize` does: call
            ``tf.config.threading.set_inter_op_parallelism_threads(1)`` before its first op.
            Known defect, cause not found: even so, 512 px pictures of the same command
            differ between processes now and then (1 run of 5 with other work beside it, up
            to 33/255 after 20 steps), with either boundary, with
            ``enable_op_determinism`` and with oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``).
        scales: Coarse-to-fine levels: 3 optimises at 1/4, 1/2 and full size,
            each warm-started from the last.
        xla: Compile the step with XLA.
        max_seconds: Stop after this much optimisation time and keep the best
            picture so far; None for no limit.
        preserve_colors: "none"; "luminance" (keep the photo's colours, take the
            stylised brightness); "histogram" (recolour the style images to the
            photo's colour statistics first).
        style_loss: The style terms: "gram" (Gram matrices, Gatys et al.),
            "sliced_wasserstein" (whole feature distributions along random
            directions, Heitz et al. 2021), "histogram" (per-channel feature
            histograms, Risser et al. 2017) and "mrf" (3 x 3 feature patches
            against the nearest painting patch at block3_conv1 and block4_conv1,
            Li & Wand 2016). The first three read `style_layers`.
        style_loss_weights: One positive weight per `style_loss`, normalised to
            sum 1 and multiplied by `style_weight`; None for equal.
        output_size: (height, width) of a texture: the run then takes no photo
            and paints the paintings' texture (no content term; the start is
            noise in the paintings' colours unless `init` is "noise", "style" or a
            file). None for the photo's size (`max_size`).
        boundary: What the loss network sees beyond the picture's border:
            "reflect" (the picture mirrored; no line along the border), "wrap"
            (the opposite side: the picture tiles without a seam) or "zeros"
            (VGG's own zero padding, which paints a line along the border; about
            a fifth faster at 384 px). See `tf_style.backbones.boundary`.
        photorealistic: Add the matting-Laplacian term (Luan et al. 2017): the
            picture stays a locally affine recolouring of the photo, so it takes
            the painting's (or another photo's) colours and tones but keeps the
            photo's shapes and straight lines. Needs a photo.
        photorealism_weight: That term's weight.
        tile_size: A scale whose picture has a side longer than this is optimised
            in overlapping square tiles of this side, one after another, so that
            memory follows the tile, not the picture (print sizes). Each tile
            matches the paintings' Gram matrices; after a coarser scale, plus its
            own difference from the tiles' mean Gram matrix at the start of the
            scale, so that the tiles share the paintings' global statistics and
            keep the layout the coarser scale gave them. With masks, the same
            per painting's region. Tiles take the Gram style loss only; textures
            are never tiled.
        tile_overlap: Pixels neighbouring tiles share, blended linearly. The
            default, 128, is eight strides of the deepest default layer, so the
            features that a tile's own border changes lie in the blend.
        tile_steps: Optimiser steps each tile of a tiled scale takes; None for
            `num_steps`.
    """

    # The photo at block3_conv2 as well as block4_conv2 (Gatys et al. used conv4_2 alone), with
    # 2.5 times the style weight: 44 % less Gram distance for 0.04 of edge agreement, over 12
    # Kodak pairs (docs/benchmarks.md, "Pictures beside the peer").
    content_layers: tuple[str, ...] = STYLIZE_CONTENT_LAYERS
    style_weight: float = 10.0
    style_blend: tuple[float, ...] | None = None
    style_scale: float = 1.0
    max_size: int = 512
    min_working_size: int = 384
    num_steps: int = 100
    optimizer: str = "lbfgs"
    learning_rate: float | None = None
    lbfgs_memory: int = 10
    lbfgs_scaling: str = "diagonal"
    adam_epsilon: float = 1e-8
    init: str = "recolored_content"
    init_noise: float = 0.0
    seed: int = 0
    scales: int = 1
    xla: bool = False
    max_seconds: float | None = None
    preserve_colors: str = "none"
    style_loss: tuple[str, ...] = ("gram",)
    style_loss_weights: tuple[float, ...] | None = None
    output_size: tuple[int, int] | None = None
    boundary: str = "reflect"
    photorealistic: bool = False
    photorealism_weight: float = PHOTOREALISM_WEIGHT
    tile_size: int = 1024
    tile_overlap: int = 128
    tile_steps: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lbfgs_scaling", self.lbfgs_scaling, LBFGS_SCALINGS)
        check_choice("preserve_colors", self.preserve_colors, COLOR_MODES)
        check_choice("boundary", self.boundary, BOUNDARIES)
        if not self.style_loss:
            raise ConfigError("style_loss must name at least one loss")
        for name in self.style_loss:
            check_choice("style_loss", name, STYLE_LOSSES)
        if len(set(self.style_loss)) != len(self.style_loss):
            raise ConfigError(f"style_loss names a loss twice: {','.join(self.style_loss)}")
        check_layer_weights("style_loss_weights", self.style_loss_weights, self.style_loss)
        check_finite("init_noise", self.init_noise, allow_zero=True)
        check_finite("style_scale", self.style_scale, allow_zero=False)
        check_finite("adam_epsilon", self.adam_epsilon, allow_zero=False)
        if self.learning_rate is not None:
            check_finite("learning_rate", self.learning_rate, allow_zero=False)
        if self.max_seconds is not None:
            check_finite("max_seconds", self.max_seconds, allow_zero=False)
        for name, low in (("max_size", 16), ("num_steps", 1), ("lbfgs_memory", 1), ("scales", 1)):
            check_whole(name, getattr(self, name), low)
        check_whole("min_working_size", self.min_working_size, 0)
        check_whole("tile_overlap", self.tile_overlap, 1)
        check_whole("tile_size", self.tile_size, 2 * self.tile_overlap)
        if self.tile_steps is not None:
            check_whole("tile_steps", self.tile_steps, 1)
        if self.style_blend is not None:
            for weight in self.style_blend:
                check_finite("style_blend", weight, allow_zero=False)
        if self.output_size is not None:
            if len(self.output_size) != 2:
                raise ConfigError(f"output_size must be (height, width), got {self.output_size}")
            for side in self.output_size:
                check_whole("output_size", side, 32)
            if max(self.output_size) > MAX_TEXTURE_SIDE:
                raise ConfigError(
                    f"output_size {self.output_size[1]}x{self.output_size[0]} is larger than "
                    f"{MAX_TEXTURE_SIDE} pixels a side, more than this machine's memory can optimise at once"
                )
            if self.preserve_colors != "none":
                raise ConfigError("preserve_colors needs a photo; a texture (output_size) has none")
            if self.photorealistic:
                raise ConfigError("photorealistic needs a photo; a texture (output_size) has none")
            if self.layout_weight:
                raise ConfigError("layout_weight needs a photo; a texture (output_size) has none")
        check_finite("photorealism_weight", self.photorealism_weight, allow_zero=False)
        if self.init not in INIT_KINDS and not os.path.isfile(self.init):
            raise ConfigError(f"init must be one of {', '.join(INIT_KINDS)} or an image file; not found: {self.init}")

    def objective(self, wrap: bool | None = None) -> Objective:
        """Content, the `style_loss` terms, total variation (wrapped when `boundary` is "wrap"), the
        colour-distribution term when `color_weight` is not 0, the luminance-layout term when
        `layout_weight` is not 0 and, when `photorealistic`, the matting-Laplacian term.

        Raises:
            ConfigError: a layer the backbone does not have.
        """
        content, gram, total_variation, *pixel_terms = (
            super().objective(wrap=self.boundary == "wrap" if wrap is None else wrap).terms
        )
        shares = self.style_loss_weights or (1.0,) * len(self.style_loss)
        style_terms = []
        for name, share in zip(self.style_loss, shares):
            weight = self.style_weight * share / sum(shares)
            if name == "gram":
                style_terms.append(GramStyleLoss(gram.layer_weights, weight))
            elif name == "mrf":
                layers = vgg.resolve_layer_weights(MRF_LAYERS, None, vgg.ARCHITECTURE[self.backbone])
                style_terms.append(MRFStyleLoss(layers, weight))
            else:
                directions = "random" if name == "sliced_wasserstein" else "channels"
                style_terms.append(SlicedWassersteinStyleLoss(gram.layer_weights, weight, directions, self.seed))
        terms = [content, *style_terms, total_variation, *pixel_terms]
        if self.photorealistic:
            terms.append(MattingLaplacianLoss(self.photorealism_weight))
        return Objective(terms)

    @property
    def step_size(self) -> float:
        """The learning rate in force: the configured one or the optimiser's default."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATE[self.optimizer]
