"""Converts a trained style network (.keras) to TFLite and checks it against the Keras model.

    python scripts/convert_tflite.py --model=runs/starry_night/starry_night.keras \
        --quantization=float16 --output=starry_night_fp16.tflite

Writes the .tflite file and, beside it, a parity and latency report
(<output>.json). Exits 1 without writing the model when the converted model's
output is further from the Keras model's than the threshold for its
quantisation (tf_style.export.parity.PARITY_MIN_PSNR). The conversion itself lives in
tf_style.export; this program only reads flags and writes files.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from tf_style.inference.runners import MAX_THREADS

_QUANTIZATIONS = ["float32", "float16", "dynamic_int8", "int8"]

_MODEL = flags.DEFINE_string("model", None, "The trained network (.keras).")
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the .tflite file.")
_QUANTIZATION = flags.DEFINE_enum(
    "quantization",
    "float16",
    _QUANTIZATIONS,
    "float32; float16 weights; dynamic_int8 (int8 weights); int8 (weights "
    "and activations, calibrated on --representative_images).",
)
_REPRESENTATIVE_IMAGES = flags.DEFINE_string(
    "representative_images",
    None,
    "Folder of your photos: calibrates int8 and checks parity (default: the built-in demo photo).",
)
_NUM_IMAGES = flags.DEFINE_integer("num_images", 16, "Photos to use from --representative_images.", lower_bound=1)
# The largest side timed or used for parity: a 4096 x 4096 float32 image is 200 MB; larger is not a phone's.
_LARGEST_SIZE = 4096
_IMAGE_SIZE = flags.DEFINE_integer(
    "image_size", 384, "Longer side of the calibration and parity photos.", lower_bound=8, upper_bound=_LARGEST_SIZE
)
_LATENCY_SIZES = flags.DEFINE_list(
    "latency_sizes",
    ["512", "1024"],
    f"Square sizes at which to time the TFLite model, each from 8 to {_LARGEST_SIZE} (empty: skip).",
)
_NUM_THREADS = flags.DEFINE_integer(
    "num_threads", 2, "CPU threads for the latency measurement.", lower_bound=1, upper_bound=MAX_THREADS
)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace existing output files.")


def _photos(folder: str | None, count: int, size: int) -> tuple[list, list[str]]:
    from tf_style import demo
    from tf_style.errors import ImageError
    from tf_style.io import images

    if folder is None:
        return [images.resize_image(demo.demo_content_image(), images.fit_within((288, 384), size))], ["demo"]
    if not os.path.isdir(folder):
        raise ImageError(f"--representative_images is not a folder: {folder}")
    paths = sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if os.path.splitext(name)[1].lower() in images.IMAGE_EXTENSIONS
    )[:count]
    if not paths:
        raise ImageError(f"no photos (.jpg, .png, ...) in {folder}")
    return [images.load_image(path, max_size=size) for path in paths], paths


def convert_main(argv: list[str]) -> int:
    from tf_style.cli.common import check_no_arguments, say, versions
    from tf_style.errors import ConfigError
    from tf_style.export.parity import convert_and_check
    from tf_style.io.files import plan_outputs, write_atomically, write_json
    from tf_style.networks.saving import load_keras_model

    check_no_arguments(argv)
    if not _MODEL.value or not _OUTPUT.value:
        raise ConfigError("--model and --output are required")
    if not _OUTPUT.value.endswith(".tflite"):
        raise ConfigError(f"--output must end in .tflite: {_OUTPUT.value}")
    try:
        sizes = [int(value) for value in _LATENCY_SIZES.value]
    except ValueError:
        sizes = []
    if len(sizes) != len(_LATENCY_SIZES.value) or not all(8 <= size <= _LARGEST_SIZE for size in sizes):
        raise ConfigError(
            f"--latency_sizes must be whole numbers from 8 to {_LARGEST_SIZE}: {','.join(_LATENCY_SIZES.value)}"
        )
    report_path = os.path.splitext(_OUTPUT.value)[0] + ".json"
    plan_outputs([_OUTPUT.value, report_path], _OVERWRITE.value, inputs=[_MODEL.value])

    model = load_keras_model(_MODEL.value)
    photos, photo_names = _photos(_REPRESENTATIVE_IMAGES.value, _NUM_IMAGES.value, _IMAGE_SIZE.value)
    tflite_bytes, report = convert_and_check(model, _QUANTIZATION.value, photos, sizes, _NUM_THREADS.value)
    report = {"model": _MODEL.value, "output": _OUTPUT.value, **report, "photos": photo_names, "versions": versions()}
    write_atomically(_OUTPUT.value, lambda file: file.write(tflite_bytes), overwrite=_OVERWRITE.value)
    write_json(report_path, report, _OVERWRITE.value)
    parity = report["parity"]
    timing = ", ".join(f"{size} {ms:.0f} ms" for size, ms in report["latency_ms"].items())
    say(
        f"wrote {_OUTPUT.value} ({len(tflite_bytes) / 1024:.0f} KiB, {report['quantization']}; parity "
        f"{parity['min_psnr_db']:.1f} dB, max diff {parity['max_abs_diff']:.4f}"
        f"{'; ' + timing if timing else ''}) and {report_path}"
    )
    return 0


def main(argv: list[str]) -> None:
    from tf_style.cli.common import exit_with_status

    exit_with_status("convert_tflite.py", convert_main, argv, "interrupted; nothing written")


if __name__ == "__main__":
    from tf_style.cli.common import quiet_tensorflow_startup, run_command

    quiet_tensorflow_startup(sys.argv)
    run_command("convert_tflite.py", sys.modules[__name__], main, sys.argv)
