"""Packages a finished `tf-style train` run as a shipped style in saved_models/<style>/.

    python scripts/package_style.py --run_dir=runs/starry_night \
        --style_image=painting.jpg --sample_image=photo.png \
        --title="The Starry Night (Vincent van Gogh, 1889)" \
        --parity_images=../shared/train/bsds500/val

Writes <style>.keras, <style>_fp16.tflite, <style>_int8.tflite (int8 weights,
dynamic-range quantisation: the fastest on CPUs), painting.jpg (thumbnail),
sample.jpg (a photo the network never saw, stylised), model_card.json and
MODEL_CARD.md. Every .tflite file passes the parity check of
tf_style.export.parity.convert_and_check or nothing is written.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys

from absl import flags

_RUN_DIR = flags.DEFINE_string("run_dir", None, "The --output_dir of a finished tf-style train run.")
_STYLE_NAME = flags.DEFINE_string("style_name", None, "The style's name (default: the run folder's name).")
_STYLE_IMAGE = flags.DEFINE_string("style_image", None, "The painting (for the thumbnail).")
_SAMPLE_IMAGE = flags.DEFINE_string("sample_image", None, "A photo not used in training, for sample.jpg.")
_TITLE = flags.DEFINE_string("title", None, "The painting's title, painter and year, for the model card.")
_PARITY_IMAGES = flags.DEFINE_string(
    "parity_images", None, "Folder of photos not used in training: int8 calibration and parity."
)
_NUM_PARITY_IMAGES = flags.DEFINE_integer("num_parity_images", 8, "Photos to use from --parity_images.")
_OUTPUT_ROOT = flags.DEFINE_string("output_root", "saved_models", "Folder that holds the shipped styles.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a packaged style of the same name.")
_STARTED_FROM = flags.DEFINE_string(
    "started_from", None, "How the network the run fine-tuned (its --init_model) was trained, for the model card."
)
_MACHINE = flags.DEFINE_string(
    "machine",
    "the 2-core Intel Xeon development CPU",
    "Where the training ran and the latency is measured, for the model card.",
)

_TRAINING_DATA_TERMS = (
    "BSDS500 (Berkeley Segmentation Data Set) training photos: licensed for non-commercial research "
    "and educational use only. Models trained on them inherit that restriction: use them for research, "
    "teaching and personal experiments, not in commercial products."
)


def _architecture(model_size: str) -> str:
    from tf_style.networks.johnson.transform_net import MODEL_SIZES

    settings = MODEL_SIZES[model_size]
    return (
        f"width {settings['width']}, {settings['num_residual_blocks']} residual blocks, stem stride "
        f"{settings['stem_stride']}, {settings['upsampling']} upsampling, "
        f"{settings['output_kernel_size']}×{settings['output_kernel_size']} output convolution"
    )


def _layers(names: list, weights: list | None) -> str:
    """ "block1_conv1, block5_conv1" or, with per-layer weights, "block1_conv1 ×1, block5_conv1 ×2"."""
    if weights is None:
        return ", ".join(names)
    return ", ".join(f"{name} ×{weight:g}" for name, weight in zip(names, weights))


def _model_card(name: str, title: str, manifest: dict, reports: dict, parameters: int) -> str:
    config = manifest["config"]
    losses = manifest["final_losses"]
    session_steps = manifest["steps"] - manifest["resumed_from_step"]  # Steps the manifest's session ran.
    rows = [
        ("Painting", f"{title} — public domain"),
        (
            "Network",
            f"`{config['model_size']}` transform net ({_architecture(config['model_size'])}), "
            f"{parameters:,} parameters",
        ),
        ("Training data", f"{manifest['num_train_images']} photos. {_TRAINING_DATA_TERMS}"),
        (
            "Loss network",
            f"`{config['backbone']}`, {config['pooling']} pooling; content "
            f"{_layers(config['content_layers'], config.get('content_layer_weights'))}; style "
            f"{_layers(config['style_layers'], config.get('style_layer_weights'))}",
        ),
        (
            "Weights",
            f"content {config['content_weight']}, style {config['style_weight']}, "
            f"TV {config['tv_weight']}; painting at {config['style_scale']}× the crop size",
        ),
        (
            "Schedule",
            f"{manifest['steps']} Adam steps, learning rate {config['learning_rate']}, batch "
            f"{config['batch_size']} of {config['crop_size']}×{config['crop_size']} random crops, "
            f"seed {config['seed']}",
        ),
        (
            "Training time",
            f"{manifest['session_seconds'] / 60:.1f} min on {_MACHINE.value}, "
            f"{session_steps * config['batch_size'] / manifest['session_seconds']:.2f} images/s"
            + (
                f" (resumed at step {manifest['resumed_from_step']}: time and speed of the steps after it)"
                if manifest["resumed_from_step"]
                else ""
            ),
        ),
        *(
            [
                (
                    "Started from",
                    f"`{config['init_model']}` (SHA-256 {manifest['init_model_sha256'][:12]}…)"
                    + (f": {manifest['started_from']}" if manifest.get("started_from") else ""),
                )
            ]
            if config.get("init_model")
            else []
        ),
        ("Final losses", ", ".join(f"{key} {value:.4g}" for key, value in losses.items())),
    ]
    lines = [
        f"# {name}: {title}",
        "",
        "A fast style network trained with this project's `tf-style train`.",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in rows]
    lines += [
        "",
        "## Files",
        "",
        "| file | size | parity against Keras (worst photo) | latency 512² / 1024², 2 threads |",
        "| --- | --- | --- | --- |",
    ]
    lines.append(f"| `{name}.keras` | {manifest['keras_bytes'] / 1024:.0f} KiB | reference | — |")
    for suffix, report in reports.items():
        parity = report["parity"]
        latency = report["latency_ms"]
        lines.append(
            f"| `{name}_{suffix}.tflite` | {report['bytes'] / 1024:.0f} KiB | "
            f"PSNR {parity['min_psnr_db']:.1f} dB, max diff {parity['max_abs_diff']:.3f} "
            f"({parity['num_images']} photos) | {latency['512x512']:.0f} / {latency['1024x1024']:.0f} ms |"
        )
    lines += [
        "",
        "`_int8` holds int8 weights with dynamic-range quantisation (activations quantised on the "
        "fly), the fastest of the int8 modes on CPUs with XNNPACK. All files take `image`, float32 "
        "(1, H, W, 3) RGB in [0, 1], any H and W of at least 8, and return `stylized_image` of the same "
        "shape through the `stylize` signature.",
        "",
        f"Latency: the LiteRT interpreter (XNNPACK) on {_MACHINE.value} ({platform.machine()}), median of 10 runs.",
        "",
        "```bash",
        f"tf-style apply --model={name} --content_image=photo.jpg --output_image=out.png",
        "```",
        "",
    ]
    return "\n".join(lines)


def package_main(argv: list[str]) -> int:
    from tf_style.cli.common import check_no_arguments
    from tf_style.errors import ConfigError, OutputError
    from tf_style.export.parity import convert_and_check
    from tf_style.inference.runners import TFLiteRunner
    from tf_style.io import images
    from tf_style.io.files import make_folder, write_atomically, write_json
    from tf_style.networks.saving import load_keras_model

    check_no_arguments(argv)
    for flag in (_RUN_DIR, _STYLE_IMAGE, _SAMPLE_IMAGE, _TITLE, _PARITY_IMAGES):
        if not flag.value:
            raise ConfigError(f"--{flag.name} is required")
    name = _STYLE_NAME.value or os.path.basename(os.path.normpath(_RUN_DIR.value))
    keras_path = os.path.join(_RUN_DIR.value, f"{name}.keras")
    with open(os.path.join(_RUN_DIR.value, f"{name}.json")) as file:
        manifest = json.load(file)
    manifest.pop("model", None)  # The run's own path: meaningless beside the shipped files.
    if manifest["config"].get("init_model"):
        manifest["config"]["init_model"] = os.path.basename(manifest["config"]["init_model"])
        if _STARTED_FROM.value:
            manifest["started_from"] = _STARTED_FROM.value
    output_dir = os.path.join(_OUTPUT_ROOT.value, name)
    if os.path.exists(output_dir) and not _OVERWRITE.value:
        raise OutputError(f"{output_dir} exists (pass --overwrite to replace it)")
    make_folder(output_dir, "--output_root's style folder")

    model = load_keras_model(keras_path)
    photo_paths = sorted(
        os.path.join(_PARITY_IMAGES.value, entry)
        for entry in os.listdir(_PARITY_IMAGES.value)
        if os.path.splitext(entry)[1].lower() in images.IMAGE_EXTENSIONS
    )
    photos = [images.load_image(path, max_size=384) for path in photo_paths[: _NUM_PARITY_IMAGES.value]]
    reports = {}
    for suffix, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
        tflite_bytes, reports[suffix] = convert_and_check(model, quantization, photos)
        write_atomically(
            os.path.join(output_dir, f"{name}_{suffix}.tflite"),
            lambda file, content=tflite_bytes: file.write(content),
            overwrite=True,
        )
    shutil.copyfile(keras_path, os.path.join(output_dir, f"{name}.keras"))
    manifest["keras_bytes"] = os.path.getsize(keras_path)

    painting = images.load_image(_STYLE_IMAGE.value, max_size=256)
    images.save_image(painting, os.path.join(output_dir, "painting.jpg"), overwrite=True, quality=85)
    photo = images.load_image(_SAMPLE_IMAGE.value, max_size=512)
    stylized = TFLiteRunner.from_file(os.path.join(output_dir, f"{name}_fp16.tflite"))(photo)
    images.save_image(stylized, os.path.join(output_dir, "sample.jpg"), overwrite=True, quality=85)

    card = {
        "name": name,
        "title": _TITLE.value,
        "parameters": model.count_params(),
        "sample_photo": os.path.basename(_SAMPLE_IMAGE.value),
        "parity_photos": [os.path.basename(path) for path in photo_paths[: len(photos)]],
        "training": manifest,
        "tflite": reports,
        "training_data_terms": _TRAINING_DATA_TERMS,
    }
    write_json(os.path.join(output_dir, "model_card.json"), card, overwrite=True)
    markdown = _model_card(name, _TITLE.value, manifest, reports, model.count_params())
    write_atomically(
        os.path.join(output_dir, "MODEL_CARD.md"), lambda file: file.write(markdown.encode()), overwrite=True
    )
    print(f"packaged {name} in {output_dir}")
    return 0


def main(argv: list[str]) -> None:
    from tf_style.cli.common import exit_with_status

    exit_with_status("package_style.py", package_main, argv, "interrupted")


if __name__ == "__main__":
    from tf_style.cli.common import quiet_tensorflow_startup, run_command

    quiet_tensorflow_startup(sys.argv)
    run_command("package_style.py", sys.modules[__name__], main, sys.argv)
