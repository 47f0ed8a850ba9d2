"""`tf-style apply`: paint photos with a trained fast style network (.keras or .tflite), or like any painting.

--style_image instead of --model paints like that painting (repeat it, with --style_blend, for a blend)
with no training: the shipped universal style transfer network (its decoders, on the offline VGG16
encoder); --transform, --style_strength and --style_size tune it, and --fast picks the fast one (a small
encoder distilled from the VGG). With --photorealistic the style image is a photo whose look (colours,
light) another photo takes without its edges moving.
--model takes a shipped style's name (`--model_variant` picks its file) or a model file. A multi-style
network (the shipped multi_style, or a file of one) paints the style named by --style, or a blend of
its styles by --style_weights=starry_night:0.5,the_scream:0.5.
--content_image takes a photo, or a folder of photos with --output_dir (created if missing; results
keep the photos' names, as .png); without it the built-in demo landscape is painted. Images larger
than --tile_size run in overlapping tiles with feathered seams, so memory stays bounded. A missing,
corrupt or wrong-kind model file, a photo too small for the network (under 8 pixels), a missing
folder or an existing output each end in one line; in a folder of photos a bad photo is reported,
the others are painted, and the exit status is 1 at the end.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from absl import flags

from tf_style.cli.common import (
    check_no_arguments,
    exit_with_status,
    load_tensorflow_quietly,
    native_stderr_silenced,
    parse_style_blend,
    run_command,
    say,
    wants_native_logs,
)
from tf_style.errors import ConfigError, ImageError, ModelError, OutputError
from tf_style.inference.registry import MODEL_VARIANTS
from tf_style.inference.runners import MAX_THREADS

_MODEL = flags.DEFINE_string(
    "model", None, "A .keras or .tflite style network, or a shipped style's name (e.g. starry_night)."
)
_MODEL_VARIANT = flags.DEFINE_enum(
    "model_variant",
    "int8",
    list(MODEL_VARIANTS),
    "For a shipped style's name or --style_image: which of its files to run: TFLite with int8 "
    "weights (the fastest on CPUs), TFLite with float16 weights, or the Keras model.",
)
_STYLE_IMAGE = flags.DEFINE_multi_string(
    "style_image",
    None,
    "Instead of --model: a painting to paint like, with no training (universal style transfer); repeat for a blend.",
)
_STYLE_BLEND = flags.DEFINE_list("style_blend", None, "One weight per --style_image (default: equal), e.g. 0.7,0.3.")
_TRANSFORM = flags.DEFINE_enum(
    "transform",
    "wct",
    ["wct", "adain"],
    "With --style_image: wct takes the painting's feature correlations; adain only each feature's mean "
    "and spread (milder; it runs the Keras model, whatever --model_variant).",
)
_STYLE_STRENGTH = flags.DEFINE_float(
    "style_strength",
    1.0,
    "With --style_image: 1 paints with the painting's statistics, 0 with the photo's own; blends the features.",
    lower_bound=0.0,
    upper_bound=1.0,
)
_PHOTOREALISTIC = flags.DEFINE_bool(
    "photorealistic",
    False,
    "With --style_image (a photo): the picture stays a photo, with the style photo's colours and light "
    "and no distortion (unpooling decoders and edge-keeping smoothing).",
)
_FAST = flags.DEFINE_bool(
    "fast",
    False,
    "With --style_image: the fast universal model (a small encoder distilled from the VGG, one level): "
    "about 7 times faster, with a much weaker style (the painting's palette, no strokes).",
)
_LAYOUT_STRENGTH = flags.DEFINE_float(
    "layout_strength",
    None,
    "With --style_image: how much of the photo's coarse light and dark the picture takes back "
    "(0: the transfer's own, which may darken a white wall). Default: 1, or 0 with --photorealistic.",
    lower_bound=0.0,
    upper_bound=1.0,
)
_STYLE_SIZE = flags.DEFINE_integer(
    "style_size", 512, "With --style_image: the painting's longer side in pixels (its strokes' scale).", lower_bound=16
)
_STYLE = flags.DEFINE_string(
    "style", None, "For a multi-style network (e.g. --model=multi_style): the style to paint, by name."
)
_STYLE_WEIGHTS = flags.DEFINE_string(
    "style_weights",
    None,
    "For a multi-style network, instead of --style: a blend of its styles, name:weight pairs "
    "(e.g. starry_night:0.5,the_scream:0.5; normalised to sum 1).",
)
# The flag's name until 0.1: "precision" now means only what a network computes in.
flags.DEFINE_alias("model_precision", "model_variant")
_CONTENT_IMAGE = flags.DEFINE_string(
    "content_image", None, "A photo, or a folder of photos (default: the built-in demo landscape)."
)
_OUTPUT_IMAGE = flags.DEFINE_string("output_image", "stylized.png", "Where to write the picture (one photo).")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None, "For a folder of photos: where to write them (same names, .png; created if missing)."
)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace existing output files.")
_STRENGTH = flags.DEFINE_float(
    "strength", 1.0, "1: the network's picture; 0: the photo; blends in between.", lower_bound=0.0, upper_bound=1.0
)
_PRESERVE_COLORS = flags.DEFINE_enum(
    "preserve_colors", "none", ["none", "luminance"], "luminance: keep the photo's colours."
)
_MAX_SIZE = flags.DEFINE_integer("max_size", None, "Shrink photos so their longer side is at most this.", lower_bound=8)
_TILE_SIZE = flags.DEFINE_integer(
    "tile_size", 1024, "Images larger than this run in overlapping, feathered tiles (0: never).", lower_bound=0
)
_TILE_OVERLAP = flags.DEFINE_integer("tile_overlap", 64, "Pixels shared by neighbouring tiles.", lower_bound=1)
_NUM_THREADS = flags.DEFINE_integer(
    "num_threads", None, "CPU threads for TFLite (default: all).", lower_bound=1, upper_bound=MAX_THREADS
)


def plan_outputs(
    content_image: str, output_image: str, output_dir: str | None, overwrite: bool
) -> list[tuple[str, str]]:
    """[(photo, output path)] for one photo or a folder, every output checked before any work.

    In a folder, each photo's picture is ``<output_dir>/<name>.png``; photos that
    share a name (``a.jpg`` and ``a.png``) get ``a_jpg.png`` and ``a_png.png``.
    No output may replace a photo, even with --overwrite.
    """
    from tf_style.io import files, images

    if not os.path.exists(content_image):
        raise ConfigError(f"content image not found: {content_image}")
    if os.path.isdir(content_image):
        if not output_dir:
            raise ConfigError("--content_image is a folder: give --output_dir for the results")
        photos = sorted(
            os.path.join(content_image, name)
            for name in os.listdir(content_image)
            if os.path.splitext(name)[1].lower() in images.IMAGE_EXTENSIONS
            and os.path.isfile(os.path.join(content_image, name))
        )
        if not photos:
            raise ConfigError(f"no photos (.jpg, .png, ...) in {content_image}")
        stems = [os.path.splitext(os.path.basename(photo))[0] for photo in photos]
        names = [
            f"{stem}_{os.path.splitext(photo)[1][1:].lower()}.png" if stems.count(stem) > 1 else f"{stem}.png"
            for stem, photo in zip(stems, photos)
        ]
        files.make_folder(output_dir, "--output_dir")
        pairs = [(photo, os.path.join(output_dir, name)) for photo, name in zip(photos, names)]
    else:
        if output_dir:
            raise ConfigError("--output_dir is for a folder of photos; for one photo use --output_image")
        images.check_image_output(output_image)
        pairs = [(content_image, output_image)]
    files.plan_outputs([output for _, output in pairs], overwrite, inputs=[photo for photo, _ in pairs])
    return pairs


def apply_main(argv: list[str]) -> int:
    """Runs the command; returns the exit status. Raises StyleTransferError for bad input."""
    check_no_arguments(argv)
    if bool(_MODEL.value) == bool(_STYLE_IMAGE.value):
        raise ConfigError(
            "give --model (a .keras/.tflite file or a shipped style's name) or --style_image (a painting), not both"
            if _MODEL.value
            else "--model is required (a .keras/.tflite file or a shipped style's name), or --style_image (a painting)"
        )
    if _PHOTOREALISTIC.value and not _STYLE_IMAGE.value:
        raise ConfigError("--photorealistic gives a photo another photo's look: give that photo as --style_image")
    if _FAST.value and not _STYLE_IMAGE.value:
        raise ConfigError("--fast picks the fast universal model: it paints like a --style_image, not a --model")
    if _FAST.value and _PHOTOREALISTIC.value:
        raise ConfigError("--fast has no photorealistic decoders: use --photorealistic without --fast")
    from tf_style import demo
    from tf_style.inference import apply, registry
    from tf_style.inference.styles import parse_style_weights
    from tf_style.io import files, images

    style_weights = None if _STYLE_WEIGHTS.value is None else parse_style_weights(_STYLE_WEIGHTS.value)
    style_blend = _parse_style_blend(_STYLE_BLEND.value, _STYLE_IMAGE.value)
    paintings = [images.load_image(path) for path in _STYLE_IMAGE.value or []]

    if _CONTENT_IMAGE.value is None:
        images.check_image_output(_OUTPUT_IMAGE.value)
        files.plan_outputs([_OUTPUT_IMAGE.value], _OVERWRITE.value)
        pairs = [(None, _OUTPUT_IMAGE.value)]
    else:
        pairs = plan_outputs(_CONTENT_IMAGE.value, _OUTPUT_IMAGE.value, _OUTPUT_DIR.value, _OVERWRITE.value)
    tile_size = _TILE_SIZE.value or None
    if tile_size is not None and tile_size < 2 * _TILE_OVERLAP.value:
        raise ConfigError(f"--tile_size must be at least twice --tile_overlap ({2 * _TILE_OVERLAP.value})")
    if paintings:
        from tf_style.inference.universal import FAST_UNIVERSAL_MODEL, load_painting_style, universal_model_dir

        # The TFLite files paint with WCT; AdaIN runs the Keras model.
        variant = "keras" if _TRANSFORM.value != "wct" else _MODEL_VARIANT.value
        if variant == "keras" or _MAX_SIZE.value is not None:
            load_tensorflow_quietly()
        with contextlib.nullcontext() if wants_native_logs() else native_stderr_silenced():
            style_function = load_painting_style(
                paintings,
                style_blend,
                transform=_TRANSFORM.value,
                style_strength=_STYLE_STRENGTH.value,
                style_size=_STYLE_SIZE.value,
                layout_strength=_LAYOUT_STRENGTH.value,
                photorealistic=_PHOTOREALISTIC.value,
                variant=variant,
                num_threads=_NUM_THREADS.value,
                folder=universal_model_dir(FAST_UNIVERSAL_MODEL) if _FAST.value else None,
            )
    else:
        if _MAX_SIZE.value is not None or not registry.resolve_model_path(_MODEL.value, _MODEL_VARIANT.value).endswith(
            ".tflite"
        ):
            load_tensorflow_quietly()  # Keras files, and resizing, need TensorFlow; TFLite files do not.
        # Loading checks the model on a small picture; LiteRT announces its XNNPACK delegate then: quietly.
        with contextlib.nullcontext() if wants_native_logs() else native_stderr_silenced():
            style_function = apply.load_style_model(
                _MODEL.value,
                num_threads=_NUM_THREADS.value,
                variant=_MODEL_VARIANT.value,
                style=_STYLE.value,
                style_weights=style_weights,
            )
    failures = 0
    for photo_path, output_path in pairs:
        try:
            photo = (
                images.to_uint8(demo.demo_content_image(min(_MAX_SIZE.value or 512, 512)))
                if photo_path is None
                else images.load_image_uint8(photo_path, max_size=_MAX_SIZE.value)
            )
            began = time.perf_counter()
            stylized_image = apply.apply_style(
                style_function,
                photo,
                strength=_STRENGTH.value,
                preserve_colors=_PRESERVE_COLORS.value,
                tile_size=tile_size,
                overlap=_TILE_OVERLAP.value,
            )
            elapsed = time.perf_counter() - began
            del photo  # Its memory, before the picture is encoded.
            images.save_image(stylized_image, output_path, overwrite=_OVERWRITE.value)
        except (ConfigError, ImageError, ModelError, OutputError) as error:
            if len(pairs) == 1:
                raise
            message = str(error) if photo_path in str(error) else f"{photo_path}: {error}"
            print(f"tf-style apply: error: {message}", file=sys.stderr)
            failures += 1
            continue
        say(f"wrote {output_path} ({stylized_image.shape[1]}x{stylized_image.shape[0]}, {elapsed * 1000:.0f} ms)")
    if failures:
        print(f"tf-style apply: {failures} of {len(pairs)} photos failed", file=sys.stderr)
        return 1
    return 0


def _parse_style_blend(blend: list[str] | None, paintings: list[str] | None) -> list[float] | None:
    """--style_blend as numbers, one per --style_image (ConfigError otherwise)."""
    weights = parse_style_blend(blend)
    if weights is None:
        return None
    if not paintings:
        raise ConfigError("--style_blend weighs several --style_image paintings; there are none")
    if len(weights) != len(paintings):
        raise ConfigError(f"--style_blend has {len(weights)} weights for {len(paintings)} --style_image paintings")
    return list(weights)


def main(argv: list[str]) -> None:
    exit_with_status("tf-style apply", apply_main, argv, "interrupted; pictures already written are kept")


def run(argv: list[str]) -> None:
    """Parses flags from `argv` (argv[0] is the program name) and runs."""
    run_command("tf-style apply", sys.modules[__name__], main, argv)
