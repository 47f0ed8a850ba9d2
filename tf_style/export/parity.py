"""What every converted file goes through: numeric parity with its Keras model, and its latency.

Images are float32 (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from tf_style.errors import ConfigError, ModelError
from tf_style.export.tflite import Quantization, convert_to_tflite
from tf_style.inference.runners import KerasRunner, TFLiteRunner
from tf_style.networks.signatures import IMAGE_TO_IMAGE, ModelSignature

# Least PSNR (dB) of a converted model's output against the Keras model's, on photos.
# float32 differs only by rounding; the quantised modes by what quantisation costs,
# measured on the shipped models (see saved_models/*/MODEL_CARD.md) with a margin.
PARITY_MIN_PSNR = {
    Quantization.FLOAT32: 60.0,
    Quantization.FLOAT16: 40.0,
    Quantization.DYNAMIC_INT8: 28.0,
    Quantization.INT8: 22.0,
}


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (inf when equal)."""
    mse = float(np.mean(np.square(np.asarray(reference, np.float64) - np.asarray(test, np.float64))))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def parity_report(
    model, runner: TFLiteRunner, images: Iterable[np.ndarray], inputs: Mapping[str, np.ndarray] | None = None
) -> dict:
    """How closely a TFLite model reproduces its Keras model on some photos.

    Args:
        model: The Keras network.
        runner: The converted model.
        images: float32 (H, W, 3) photos in [0, 1].
        inputs: The network's other inputs by name (with their batch axis), the
            same for every photo; None for image-only networks.

    Returns:
        ``{"max_abs_diff": worst pixel difference, "min_psnr_db": worst image's PSNR,
        "mean_psnr_db": mean PSNR, "num_images": n}``.
    """
    inputs = dict(inputs or {})
    keras_runner = KerasRunner(model)
    worst, psnrs = 0.0, []
    for image in images:
        expected = keras_runner(image, **inputs)
        actual = runner(image, **inputs)
        worst = max(worst, float(np.max(np.abs(expected - actual))))
        psnrs.append(psnr(expected, actual))
    if not psnrs:
        raise ConfigError("parity needs at least one image")
    finite = [value for value in psnrs if np.isfinite(value)]
    return {
        "max_abs_diff": worst,
        "min_psnr_db": float(min(psnrs)),
        "mean_psnr_db": float(np.mean(finite)) if finite else float("inf"),
        "num_images": len(psnrs),
    }


def check_parity(report: dict, quantization: Quantization | str) -> None:
    """Raises ModelError when `report`'s worst PSNR is under the threshold of `quantization`."""
    quantization = Quantization.parse(quantization)
    threshold = PARITY_MIN_PSNR[quantization]
    if report["min_psnr_db"] < threshold:
        raise ModelError(
            f"{quantization.value} parity too poor: PSNR {report['min_psnr_db']:.1f} dB against "
            f"the Keras model (needs >= {threshold:.0f} dB); max abs diff "
            f"{report['max_abs_diff']:.4f}"
        )


def measure_latency(
    runner: TFLiteRunner, height: int, width: int, repeats: int = 10, inputs: Mapping[str, np.ndarray] | None = None
) -> float:
    """Median wall time in milliseconds of one (1, height, width, 3) inference, after a warm-up."""
    image = np.random.default_rng(0).uniform(size=(height, width, 3)).astype(np.float32)
    inputs = dict(inputs or {})
    runner(image, **inputs)  # Resizes, allocates and lets the delegate prepare.
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        runner(image, **inputs)
        times.append((time.perf_counter() - began) * 1000.0)
    return statistics.median(times)


def convert_and_check(
    model,
    quantization: Quantization | str,
    photos: Sequence[np.ndarray],
    latency_sizes: Sequence[int] = (512, 1024),
    num_threads: int = 2,
    signature: ModelSignature = IMAGE_TO_IMAGE,
    inputs: Mapping[str, np.ndarray] | None = None,
) -> tuple[bytes, dict]:
    """Converts, checks parity on `photos` and times the result: what every shipped file goes through.

    Args:
        model: The Keras network.
        quantization: A `Quantization` or its value.
        photos: float32 (H, W, 3) photos in [0, 1]: calibration (int8) and parity.
        latency_sizes: Square sizes to time (median of 10 runs each).
        num_threads: Interpreter threads for the timing.
        signature: The network's inputs and outputs.
        inputs: The network's other inputs by name (with their batch axis), for
            calibration, parity and timing; None for image-only networks.

    Returns:
        (the ``.tflite`` bytes, a JSON-ready report: size, signature, parity, latency).

    Raises:
        ModelError: conversion fails or parity is under `PARITY_MIN_PSNR`.
    """
    quantization = Quantization.parse(quantization)
    extra = {name: np.asarray(value)[0] for name, value in (inputs or {}).items()}
    calibration = [{**extra, signature.inputs[0].name: photo} if extra else photo for photo in photos]
    tflite_bytes = convert_to_tflite(model, quantization, representative_images=calibration, signature=signature)
    runner = TFLiteRunner(tflite_bytes, num_threads=num_threads)
    parity = parity_report(model, runner, photos, inputs)
    check_parity(parity, quantization)
    latency = {f"{size}x{size}": round(measure_latency(runner, size, size, inputs=inputs), 1) for size in latency_sizes}

    def describe(details: dict) -> dict:
        return {
            name: {"shape": [int(v) for v in each["shape_signature"]], "dtype": np.dtype(each["dtype"]).name}
            for name, each in details.items()
        }

    image_input = runner.inputs[runner.image_input]
    report = {
        "quantization": quantization.value,
        "bytes": len(tflite_bytes),
        "signature": runner.signature_name,
        "input": {
            "name": runner.image_input,
            "shape": [int(v) for v in image_input["shape_signature"]],
            "dtype": np.dtype(image_input["dtype"]).name,
        },
        "output": {"name": runner.image_output, "dtype": np.dtype(runner.outputs[runner.image_output]["dtype"]).name},
        "inputs": describe(runner.inputs),
        "outputs": describe(runner.outputs),
        "parity": {**parity, "min_psnr_db_required": PARITY_MIN_PSNR[quantization]},
        "latency_ms": latency,
        "num_threads": num_threads,
    }
    return tflite_bytes, report
