"""`tf-style stylize`: repaint a photo in the style of one or more paintings (image optimisation).

Without --content_image and --style_image it runs on the built-in demo images; with --output_size
and no --content_image it paints a texture of the painting (--tileable: one that tiles without a
seam). --photorealistic keeps the photo a photo (only its colours and tones change). Pictures
larger than --tile_size are optimised tile by tile, so prints fit in memory. It writes the
picture and, beside it, a run manifest (`<output>.json`): every setting, the library versions, the
backbone and the SHA-256 of its weights, the seed, the scale sizes, the steps, why it stopped, the
wall time and the final losses. Ctrl-C stops and writes the picture so far (exit 130); a loss that
becomes NaN stops the run and writes the last good picture (exit 1).

Grayscale, RGBA (composited on white), palette, 16-bit, CMYK and EXIF-rotated images just work;
images smaller than the network needs are enlarged. A missing, empty, truncated or non-image file, a
directory, a decompression bomb, an unknown layer, a zero or negative weight or step count, a missing
or read-only output folder, and an existing output without --overwrite each end in one line.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

from absl import flags

from tf_style.cli.common import (
    check_no_arguments,
    exit_with_status,
    parse_layers,
    parse_style_blend,
    run_command,
    say,
    versions,
)
from tf_style.cli.loss_flags import define_loss_flags, loss_config_fields
from tf_style.errors import ConfigError
from tf_style.optimization import config as config_lib

_DEFAULTS = config_lib.StylizeConfig()
_LOSS_FLAGS = define_loss_flags(_DEFAULTS, __name__)

_CONTENT_IMAGE = flags.DEFINE_string("content_image", None, "Photo to repaint (default: built-in demo).")
_STYLE_IMAGE = flags.DEFINE_multi_string(
    "style_image", None, "Painting whose style to take; repeat for several (default: demo)."
)
_OUTPUT_IMAGE = flags.DEFINE_string(
    "output_image", "stylized.png", "Where to write the picture (.png, .jpg, .webp, ...)."
)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace existing output files.")
_STYLE_BLEND = flags.DEFINE_list("style_blend", None, "One weight per --style_image (default: equal), e.g. 0.7,0.3.")
_STYLE_SCALE = flags.DEFINE_float(
    "style_scale", _DEFAULTS.style_scale, "Style image size relative to the picture; smaller gives finer strokes."
)
_STYLE_LOSS = flags.DEFINE_list(
    "style_loss",
    list(_DEFAULTS.style_loss),
    "Style terms, each with an optional :weight (shares of --style_weight): gram, sliced_wasserstein, "
    "histogram, mrf; e.g. gram:1,sliced_wasserstein:0.5.",
)
_NUM_STEPS = flags.DEFINE_integer("num_steps", _DEFAULTS.num_steps, "Optimiser steps per scale.", lower_bound=1)
_MAX_SIZE = flags.DEFINE_integer(
    "max_size", _DEFAULTS.max_size, "Longer side of the output in pixels (photos are never enlarged).", lower_bound=16
)
_MIN_WORKING_SIZE = flags.DEFINE_integer(
    "min_working_size",
    _DEFAULTS.min_working_size,
    "A smaller picture of a photo is optimised at this longer side and reduced at the end (the loss network "
    "paints small details as blobs below it); 0: at its own size.",
    lower_bound=0,
)
_OPTIMIZER = flags.DEFINE_enum("optimizer", _DEFAULTS.optimizer, config_lib.OPTIMIZERS, "Optimiser.")
_LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", None, "Adam step size / L-BFGS initial step (default: 0.02 / 1.0)."
)
_LBFGS_MEMORY = flags.DEFINE_integer(
    "lbfgs_memory",
    _DEFAULTS.lbfgs_memory,
    "Curvature pairs L-BFGS keeps (more: better steps, more memory).",
    lower_bound=1,
)
_LBFGS_SCALING = flags.DEFINE_enum(
    "lbfgs_scaling",
    _DEFAULTS.lbfgs_scaling,
    config_lib.LBFGS_SCALINGS,
    "L-BFGS's initial inverse Hessian: diagonal (per-pixel step sizes, as in "
    "Adam) or scalar (a multiple of the identity).",
)
_INIT = flags.DEFINE_string(
    "init",
    _DEFAULTS.init,
    "Starting picture: recolored_content (the photo in the painting's colours), "
    "content, noise, style, or an image path.",
)
_INIT_NOISE = flags.DEFINE_float(
    "init_noise",
    _DEFAULTS.init_noise,
    "Standard deviation of Gaussian noise added to the starting picture (pixel values in [0, 1]; 0: none).",
    lower_bound=0.0,
)
_SEED = flags.DEFINE_integer("seed", _DEFAULTS.seed, "Random seed (same seed, same picture).")
_SCALES = flags.DEFINE_integer(
    "scales", _DEFAULTS.scales, "Coarse-to-fine levels (3: 1/4, 1/2, full size).", lower_bound=1
)
_XLA = flags.DEFINE_bool("xla", _DEFAULTS.xla, "Compile the step with XLA.")
_MAX_SECONDS = flags.DEFINE_float("max_seconds", None, "Stop after this many seconds and keep the best picture so far.")
_PRESERVE_COLORS = flags.DEFINE_enum(
    "preserve_colors",
    _DEFAULTS.preserve_colors,
    config_lib.COLOR_MODES,
    "Keep the photo's colours: luminance-only transfer, or histogram matching of the style to the photo.",
)
_STYLE_MASK = flags.DEFINE_multi_string(
    "style_mask",
    None,
    "One mask per --style_image, in order, the photo's shape: white where that painting's style goes; "
    "or a label image and a colour, labels.png#1e90ff.",
)
_CONTENT_MASK = flags.DEFINE_string(
    "content_mask", None, "Mask image, the photo's shape: white where to stylise; elsewhere the photo stays."
)
_OUTPUT_SIZE = flags.DEFINE_string(
    "output_size",
    None,
    "WIDTHxHEIGHT of a texture, e.g. 1024x768: without --content_image, paints the painting's texture at that size.",
)
_TILEABLE = flags.DEFINE_bool(
    "tileable",
    False,
    "Make the picture tile without a seam (the loss network sees it wrapped around); for textures.",
)
_BOUNDARY = flags.DEFINE_enum(
    "boundary",
    _DEFAULTS.boundary,
    ["reflect", "zeros"],
    "What the loss network sees beyond the border: the picture mirrored, or VGG's zero padding "
    "(faster, but it paints a line along the border).",
)
_PHOTOREALISTIC = flags.DEFINE_bool(
    "photorealistic",
    _DEFAULTS.photorealistic,
    "Keep the photo a photo: take the painting's (or another photo's) colours and tones, keep its shapes "
    "and straight lines (matting-Laplacian term, Luan et al. 2017).",
)
_PHOTOREALISM_WEIGHT = flags.DEFINE_float(
    "photorealism_weight", _DEFAULTS.photorealism_weight, "Weight of the --photorealistic term.", lower_bound=0.0
)
_TILE_SIZE = flags.DEFINE_integer(
    "tile_size",
    _DEFAULTS.tile_size,
    "Scales with a side longer than this are optimised in overlapping tiles of this side (print sizes: "
    "memory follows the tile).",
    lower_bound=2,
)
_TILE_OVERLAP = flags.DEFINE_integer(
    "tile_overlap", _DEFAULTS.tile_overlap, "Pixels neighbouring tiles share (blended).", lower_bound=1
)
_TILE_STEPS = flags.DEFINE_integer(
    "tile_steps", None, "Optimiser steps per tile of a tiled scale (default: --num_steps).", lower_bound=1
)
_SAVE_EVERY = flags.DEFINE_integer("save_every", 0, "Also save the picture every N steps (0: never).", lower_bound=0)
_SAVE_PATTERN = flags.DEFINE_string(
    "save_pattern",
    None,
    "File name pattern for --save_every with a {step} field, e.g. frames/{step:04d}.png "
    "(default: <output>_step{step:05d}<ext>).",
)


def config_from_flags() -> config_lib.StylizeConfig:
    """The `StylizeConfig` the flags describe (validated)."""
    style_blend = parse_style_blend(_STYLE_BLEND.value)
    if _TILEABLE.value and _BOUNDARY.value != "reflect":
        raise ConfigError(
            f"--tileable wraps the picture around; it cannot be combined with --boundary={_BOUNDARY.value}"
        )
    if _OUTPUT_SIZE.value is not None and _CONTENT_IMAGE.value is not None:
        raise ConfigError("--output_size is the size of a texture; with --content_image use --max_size")
    style_loss, style_loss_weights = parse_layers(_STYLE_LOSS.value, "style_loss")
    return config_lib.StylizeConfig(
        **loss_config_fields(_LOSS_FLAGS),
        style_loss=style_loss,
        style_loss_weights=style_loss_weights,
        style_blend=style_blend,
        style_scale=_STYLE_SCALE.value,
        max_size=_MAX_SIZE.value,
        min_working_size=_MIN_WORKING_SIZE.value,
        num_steps=_NUM_STEPS.value,
        optimizer=_OPTIMIZER.value,
        learning_rate=_LEARNING_RATE.value,
        lbfgs_memory=_LBFGS_MEMORY.value,
        lbfgs_scaling=_LBFGS_SCALING.value,
        init=_INIT.value,
        init_noise=_INIT_NOISE.value,
        seed=_SEED.value,
        scales=_SCALES.value,
        xla=_XLA.value,
        max_seconds=_MAX_SECONDS.value,
        preserve_colors=_PRESERVE_COLORS.value,
        output_size=parse_output_size(_OUTPUT_SIZE.value),
        boundary="wrap" if _TILEABLE.value else _BOUNDARY.value,
        photorealistic=_PHOTOREALISTIC.value,
        photorealism_weight=_PHOTOREALISM_WEIGHT.value,
        tile_size=_TILE_SIZE.value,
        tile_overlap=_TILE_OVERLAP.value,
        tile_steps=_TILE_STEPS.value,
    )


def parse_output_size(text: str | None) -> tuple[int, int] | None:
    """(height, width) from "WIDTHxHEIGHT"; None for None."""
    if text is None:
        return None
    width, _, height = text.lower().partition("x")
    if not (width.strip().isdigit() and height.strip().isdigit()):
        raise ConfigError(f"--output_size must be WIDTHxHEIGHT in pixels, e.g. 1024x768; got {text!r}")
    return int(height), int(width)


def manifest_path(output_image: str) -> str:
    """The run manifest's path: the output's path with ``.json`` in place of its extension."""
    return os.path.splitext(output_image)[0] + ".json"


def snapshot_paths(output_image: str, pattern: str | None, save_every: int, total_steps: int) -> dict:
    """{step: path} for every intermediate picture --save_every will write."""
    if save_every == 0:
        return {}
    if pattern is None:
        stem, extension = os.path.splitext(output_image)
        pattern = stem + "_step{step:05d}" + extension
    if "{step" not in pattern:
        raise ConfigError(f"--save_pattern needs a {{step}} field, got {pattern!r}")
    try:
        return {step: pattern.format(step=step) for step in range(save_every, total_steps + 1, save_every)}
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(f"--save_pattern {pattern!r} is not a valid pattern ({error})") from None


def stylize_main(argv: list[str]) -> int:
    """Runs the command; returns the exit status. Raises StyleTransferError for bad input."""
    check_no_arguments(argv)
    from tqdm import tqdm

    from tf_style import demo, masks
    from tf_style.io import files, images
    from tf_style.optimization.image_optimization import ImageOptimization

    config = config_from_flags()
    output_image, overwrite = _OUTPUT_IMAGE.value, _OVERWRITE.value
    # Every file this run will write is checked before any work: a bad name is found now, not after it.
    images.check_image_output(output_image)
    manifest = manifest_path(output_image)
    snapshots = snapshot_paths(output_image, _SAVE_PATTERN.value, _SAVE_EVERY.value, config.num_steps * config.scales)
    for path in snapshots.values():
        images.check_image_output(path)
    mask_files = [masks.mask_path(spec) for spec in [*(_STYLE_MASK.value or []), _CONTENT_MASK.value] if spec]
    inputs = [_CONTENT_IMAGE.value, *(_STYLE_IMAGE.value or []), *mask_files, config.init]
    files.plan_outputs([output_image, manifest, *snapshots.values()], overwrite, inputs)

    # Read at the sizes the run uses, so memory follows --max_size, not the files.
    working_side = max(config.max_size, config.min_working_size)
    if config.output_size is not None:
        content_image, content_name = None, None
    elif _CONTENT_IMAGE.value is None:
        content_image, content_name = demo.demo_content_image(), "demo:landscape"
    else:
        # Up to the working size when that is larger: the photo's own detail rather than an enlargement.
        content_image = images.load_image(_CONTENT_IMAGE.value, max_size=working_side)
        content_name = _CONTENT_IMAGE.value
    if not _STYLE_IMAGE.value:
        style_images, style_names = [demo.demo_style_image()], ["demo:swirls"]
    else:
        longest = max(config.output_size) if config.output_size is not None else working_side
        style_size = max(longest, math.ceil(config.style_scale * longest))
        style_images = [images.load_image(path, max_size=style_size) for path in _STYLE_IMAGE.value]
        style_names = list(_STYLE_IMAGE.value)

    # A mask is a grey level or one colour of a label image (tf_style.masks), at the photo's size.
    style_masks = None
    if _STYLE_MASK.value:
        style_masks = [masks.load_mask(spec, max_size=config.max_size) for spec in _STYLE_MASK.value]
    content_mask = None
    if _CONTENT_MASK.value:
        content_mask = masks.load_mask(_CONTENT_MASK.value, max_size=config.max_size)
    optimization = ImageOptimization(content_image, style_images, config, None, style_masks, content_mask)
    if optimization.total_steps != config.num_steps * config.scales:  # Tiles take their own steps.
        snapshots = snapshot_paths(output_image, _SAVE_PATTERN.value, _SAVE_EVERY.value, optimization.total_steps)
        for path in snapshots.values():
            images.check_image_output(path)
        files.plan_outputs([output_image, manifest, *snapshots.values()], overwrite, inputs)

    start = time.perf_counter()
    bar = tqdm(total=optimization.total_steps, unit="step", file=sys.stderr, dynamic_ncols=True, desc="stylize")
    try:
        for progress in optimization.run():
            where = f"scale {progress.scale}/{progress.num_scales} {progress.image_size[1]}x{progress.image_size[0]}"
            if progress.num_tiles:
                where += f" tile {progress.tile}/{progress.num_tiles}"
            bar.set_description(where, refresh=False)
            bar.set_postfix(
                {key: f"{value:.4g}" for key, value in progress.losses.items() if "/" not in key}, refresh=False
            )
            bar.update(1)
            if progress.step in snapshots:
                images.save_image(optimization.result().image, snapshots[progress.step], overwrite=overwrite)
    except KeyboardInterrupt:
        if not optimization.has_picture:
            raise  # Nothing to save yet: main() reports it.
        optimization.interrupt()
    finally:
        bar.close()

    result = optimization.result()
    images.save_image(result.image, output_image, overwrite=overwrite)
    record = {
        "command": "stylize",
        "output_image": output_image,
        "content_image": content_name,
        "style_images": style_names,
        "style_masks": list(_STYLE_MASK.value or []),
        "content_mask": _CONTENT_MASK.value,
        "config": config.to_dict(),
        "backbone": config.backbone,
        "weights_sha256": optimization.extractor.weights_sha256,
        "precision": result.precision,
        "float32_from_step": result.float32_from_step,
        "seed": config.seed,
        "scale_sizes": [list(size) for size in result.scale_sizes],
        "output_size": list(result.image.shape[:2]),
        "steps": result.steps,
        "stop_reason": result.stop_reason,
        "optimization_seconds": round(result.elapsed_seconds, 3),
        "wall_seconds": round(time.perf_counter() - start, 3),
        "final_losses": result.losses,
        "snapshots": [path for step, path in snapshots.items() if step <= result.steps],
        "versions": versions(),
    }
    files.write_json(manifest, record, overwrite)
    if result.stop_reason == "interrupted":
        print(
            f"tf-style stylize: interrupted at step {result.steps}; saved the picture so far to {output_image}",
            file=sys.stderr,
        )
        return 130
    if result.stop_reason == "non_finite_loss":
        print(
            f"tf-style stylize: error: the loss became NaN or infinite at step {result.steps + 1}; "
            f"saved the last good picture to {output_image} (try a smaller --learning_rate or weights)",
            file=sys.stderr,
        )
        return 1
    say(
        f"wrote {output_image} ({result.image.shape[1]}x{result.image.shape[0]}, {result.steps} steps, "
        f"{result.elapsed_seconds:.1f} s, {result.stop_reason}) and {manifest}"
    )
    return 0


def one_op_at_a_time() -> None:
    """Runs TensorFlow's ops one after another, so that a seed gives the same picture at every size.

    With independent ops run side by side, the picture's gradient at 512 px differed in its
    last bits from run to run, and after 20 steps pixels differed by up to 37/255. On two
    cores a step is as fast either way. Must precede TensorFlow's first op; a process that
    has already run one keeps its setting.
    """
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # TensorFlow is already running (a caller that imported us).
        tf.config.threading.set_inter_op_parallelism_threads(1)


def main(argv: list[str]) -> None:
    one_op_at_a_time()
    exit_with_status("tf-style stylize", stylize_main, argv, "interrupted before the first step; nothing written")


def run(argv: list[str]) -> None:
    """Parses flags from `argv` (argv[0] is the program name) and runs."""
    run_command("tf-style stylize", sys.modules[__name__], main, argv)
