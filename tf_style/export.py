"""Saving, loading and converting transform networks; running TFLite models.

    keras.Model --ExportArchive--> SavedModel (signature "stylize") --TFLiteConverter--> bytes

The conversion is a pure function returning the ``.tflite`` bytes; writing files
is the caller's business (except ``save_keras_model``, which writes atomically).
Every TFLite model has the same mobile contract, whatever its quantisation:
signature ``stylize``, input ``image`` float32 (1, H, W, 3) RGB in [0, 1] with H
and W chosen at run time (at least 8), output ``stylized_image`` of the same
shape, dtype and range.

``TFLiteRunner`` runs such a model with the LiteRT interpreter
(``ai-edge-litert``), or ``tf.lite`` when LiteRT is not installed.
"""

from __future__ import annotations

import enum
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence

import numpy as np

from tf_style.errors import ConfigError, ModelError, OutputError

SIGNATURE_NAME = "stylize"
INPUT_NAME = "image"
OUTPUT_NAME = "stylized_image"
MIN_INPUT_SIZE = 8


class Quantization(str, enum.Enum):
    """How a TFLite model stores its weights and computes.

    FLOAT32: as trained. FLOAT16: weights stored in float16 (half the size),
    computed in float32 on CPU. DYNAMIC_INT8: weights in int8, activations
    quantised on the fly (XNNPACK's fastest path on CPUs with VNNI). INT8: weights
    and activations in int8, calibrated on representative photos; float32 input
    and output.
    """

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    DYNAMIC_INT8 = "dynamic_int8"
    INT8 = "int8"

    @classmethod
    def parse(cls, value: "str | Quantization") -> "Quantization":
        """The member named by `value`; ConfigError for anything else."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(f"unknown quantization {value!r}; choose one of "
                              f"{', '.join(member.value for member in cls)}") from None


# Least PSNR (dB) of a converted model's output against the Keras model's, on photos.
# float32 differs only by rounding; the quantised modes by what quantisation costs,
# measured on the shipped models (see saved_models/*/MODEL_CARD.md) with a margin.
PARITY_MIN_PSNR = {Quantization.FLOAT32: 60.0, Quantization.FLOAT16: 40.0,
                   Quantization.DYNAMIC_INT8: 28.0, Quantization.INT8: 22.0}


# Keras files ------------------------------------------------------------------------


def save_keras_model(model, path: str, overwrite: bool = False) -> None:
    """Saves `model` as a ``.keras`` file atomically (temporary file, then rename).

    Raises:
        OutputError: `path` does not end in ``.keras``, its folder is missing or
            not writable, or it exists and `overwrite` is False.
    """
    from tf_style.images import check_writable

    if not path.endswith(".keras"):
        raise OutputError(f"a Keras model file must end in .keras: {path}")
    check_writable(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".keras")
    os.close(descriptor)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_keras_model(path: str):
    """Loads a transform network saved by ``save_keras_model``.

    Raises:
        ModelError: the file is missing, a directory, or not a transform network.
    """
    import importlib

    import keras

    importlib.import_module("tf_style.transform_net")  # Registers the custom layers with Keras.
    _check_model_file(path)
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # zipfile, h5py, json and Keras errors all mean "not a model we can load".
        raise ModelError(f"not a readable Keras model: {path} ({type(error).__name__})") from None
    if len(model.inputs) != 1 or model.inputs[0].shape[-1] != 3 or model.outputs[0].shape[-1] != 3:
        raise ModelError(f"not an image-to-image model (RGB in, RGB out): {path}")
    return model


def _check_model_file(path: str) -> None:
    if not os.path.exists(path):
        raise ModelError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelError(f"model path is a directory, not a file: {path}")
    if os.path.getsize(path) == 0:
        raise ModelError(f"model file is empty: {path}")


# Conversion ---------------------------------------------------------------------------


def export_saved_model(model, directory: str) -> None:
    """Writes `model` as a SavedModel with the ``stylize`` signature (see the module docstring)."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SIGNATURE_NAME,
        fn=lambda image: {OUTPUT_NAME: model(image, training=False)},
        input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32, name=INPUT_NAME)])
    archive.write_out(directory, verbose=False)


def convert_to_tflite(model, quantization: Quantization | str = Quantization.FLOAT32,
                      representative_images: Sequence[np.ndarray] | None = None) -> bytes:
    """Converts a transform network to a TFLite flatbuffer.

    Args:
        model: A Keras model from float32 (B, H, W, 3) in [0, 1] to the same.
        quantization: A ``Quantization`` or its value.
        representative_images: float32 (H, W, 3) photos in [0, 1] that calibrate
            the activation ranges; required for INT8, ignored otherwise. A few
            dozen of the user's own photos at the size they will use is enough.

    Returns:
        The ``.tflite`` bytes.

    Raises:
        ConfigError: unknown quantisation, or INT8 without representative images.
        ModelError: the converter fails.
    """
    import tensorflow as tf

    quantization = Quantization.parse(quantization)
    if quantization is Quantization.INT8 and not representative_images:
        raise ConfigError("int8 quantization needs representative images (some of your photos)")
    with tempfile.TemporaryDirectory() as directory:
        export_saved_model(model, directory)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=[SIGNATURE_NAME])
        if quantization is not Quantization.FLOAT32:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization is Quantization.FLOAT16:
            converter.target_spec.supported_types = [tf.float16]
        if quantization is Quantization.INT8:
            calibration = [np.asarray(image, np.float32)[None] for image in representative_images]
            converter.representative_dataset = lambda: ([image] for image in calibration)
        try:
            return converter.convert()
        except Exception as error:  # The converter raises ConverterError and others with long logs.
            raise ModelError(f"TFLite conversion ({quantization.value}) failed: "
                             f"{str(error).strip().splitlines()[0][:200]}") from None


# Running ------------------------------------------------------------------------------


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # LiteRT not installed: TensorFlow's own copy of the interpreter.
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


class TFLiteRunner:
    """Runs a ``.tflite`` transform network on images of any size.

    Resizes the dynamic input to each image, quantises the input and
    dequantises the output when the model's are integers.

    Example:
        >>> runner = TFLiteRunner.from_file("saved_models/starry_night/starry_night_fp16.tflite")  # doctest: +SKIP
        >>> stylized_image = runner(photo)  # (H, W, 3) float32 in [0, 1]  # doctest: +SKIP
    """

    def __init__(self, model_content: bytes, num_threads: int | None = None):
        """Loads the model.

        Args:
            model_content: The ``.tflite`` bytes.
            num_threads: CPU threads for the interpreter; None for its default.

        Raises:
            ModelError: the bytes are not a TFLite model with an image input.
        """
        Interpreter = _interpreter_class()
        try:
            self.interpreter = Interpreter(model_content=bytes(model_content), num_threads=num_threads)
            signatures = self.interpreter.get_signature_list()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"not a TFLite model ({str(error).strip().splitlines()[0][:120]})") from None
        if not signatures:
            raise ModelError("the TFLite model has no signature")
        self.signature_name = SIGNATURE_NAME if SIGNATURE_NAME in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(self.signature_name)
        inputs = self.runner.get_input_details()
        outputs = self.runner.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError("the TFLite model must have one image input and one image output")
        (self.input_name, self.input_details), = inputs.items()
        (self.output_name, self.output_details), = outputs.items()
        if len(self.input_details["shape_signature"]) != 4 or self.input_details["shape_signature"][-1] != 3:
            raise ModelError(f"the TFLite model's input is not an RGB image batch: "
                             f"{list(self.input_details['shape_signature'])}")

    @classmethod
    def from_file(cls, path: str, num_threads: int | None = None) -> "TFLiteRunner":
        """Loads a ``.tflite`` file (ModelError when missing, empty or not a model)."""
        _check_model_file(path)
        with open(path, "rb") as file:
            content = file.read()
        try:
            return cls(content, num_threads=num_threads)
        except ModelError as error:
            raise ModelError(f"{path}: {error}") from None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Stylises one image.

        Args:
            image: float32 (H, W, 3) or (1, H, W, 3) RGB in [0, 1], sides at least 8.

        Returns:
            float32 array of the same shape, in [0, 1].
        """
        image = np.asarray(image, np.float32)
        batch = image if image.ndim == 4 else image[None]
        if min(batch.shape[1:3]) < MIN_INPUT_SIZE:
            raise ConfigError(f"image is {batch.shape[2]}x{batch.shape[1]}; the network needs at least "
                              f"{MIN_INPUT_SIZE} pixels on each side")
        feed = _quantize(batch, self.input_details)
        output = self.runner(**{self.input_name: feed})[self.output_name]
        output = np.clip(_dequantize(output, self.output_details), 0.0, 1.0)
        return output if image.ndim == 4 else output[0]


def _quantize(values: np.ndarray, details: dict) -> np.ndarray:
    dtype = details["dtype"]
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    scale, zero_point = details["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(values: np.ndarray, details: dict) -> np.ndarray:
    if np.issubdtype(values.dtype, np.floating):
        return values.astype(np.float32)
    scale, zero_point = details["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


# Parity and speed ---------------------------------------------------------------------


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (inf when equal)."""
    mse = float(np.mean(np.square(np.asarray(reference, np.float64) - np.asarray(test, np.float64))))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def parity_report(model, runner: TFLiteRunner, images: Iterable[np.ndarray]) -> dict:
    """How closely a TFLite model reproduces its Keras model on some photos.

    Args:
        model: The Keras transform network.
        runner: The converted model.
        images: float32 (H, W, 3) photos in [0, 1].

    Returns:
        ``{"max_abs_diff": worst pixel difference, "min_psnr_db": worst image's PSNR,
        "mean_psnr_db": mean PSNR, "num_images": n}``.
    """
    worst, psnrs = 0.0, []
    for image in images:
        expected = np.asarray(model(np.asarray(image, np.float32)[None], training=False))[0]
        actual = runner(image)
        worst = max(worst, float(np.max(np.abs(expected - actual))))
        psnrs.append(psnr(expected, actual))
    if not psnrs:
        raise ConfigError("parity needs at least one image")
    finite = [value for value in psnrs if np.isfinite(value)]
    return {"max_abs_diff": worst, "min_psnr_db": float(min(psnrs)),
            "mean_psnr_db": float(np.mean(finite)) if finite else float("inf"), "num_images": len(psnrs)}


def check_parity(report: dict, quantization: Quantization | str) -> None:
    """Raises ModelError when `report`'s worst PSNR is under the threshold of `quantization`."""
    quantization = Quantization.parse(quantization)
    threshold = PARITY_MIN_PSNR[quantization]
    if report["min_psnr_db"] < threshold:
        raise ModelError(f"{quantization.value} parity too poor: PSNR {report['min_psnr_db']:.1f} dB against "
                         f"the Keras model (needs >= {threshold:.0f} dB); max abs diff "
                         f"{report['max_abs_diff']:.4f}")


def measure_latency(runner: TFLiteRunner, height: int, width: int, repeats: int = 10) -> float:
    """Median wall time in milliseconds of one (1, height, width, 3) inference, after a warm-up."""
    image = np.random.default_rng(0).uniform(size=(height, width, 3)).astype(np.float32)
    runner(image)  # Resizes, allocates and lets the delegate prepare.
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        runner(image)
        times.append((time.perf_counter() - began) * 1000.0)
    return statistics.median(times)


def convert_and_check(model, quantization: Quantization | str, photos: Sequence[np.ndarray],
                      latency_sizes: Sequence[int] = (512, 1024), num_threads: int = 2) -> tuple[bytes, dict]:
    """Converts, checks parity on `photos` and times the result: what every shipped file goes through.

    Args:
        model: The Keras transform network.
        quantization: A ``Quantization`` or its value.
        photos: float32 (H, W, 3) photos in [0, 1]: calibration (int8) and parity.
        latency_sizes: Square sizes to time (median of 10 runs each).
        num_threads: Interpreter threads for the timing.

    Returns:
        (the ``.tflite`` bytes, a JSON-ready report: size, mobile contract, parity, latency).

    Raises:
        ModelError: conversion fails or parity is under ``PARITY_MIN_PSNR``.
    """
    quantization = Quantization.parse(quantization)
    tflite_bytes = convert_to_tflite(model, quantization, representative_images=photos)
    runner = TFLiteRunner(tflite_bytes, num_threads=num_threads)
    parity = parity_report(model, runner, photos)
    check_parity(parity, quantization)
    latency = {f"{size}x{size}": round(measure_latency(runner, size, size), 1) for size in latency_sizes}
    report = {
        "quantization": quantization.value, "bytes": len(tflite_bytes), "signature": runner.signature_name,
        "input": {"name": runner.input_name, "shape": [int(v) for v in runner.input_details["shape_signature"]],
                  "dtype": np.dtype(runner.input_details["dtype"]).name},
        "output": {"name": runner.output_name, "dtype": np.dtype(runner.output_details["dtype"]).name},
        "parity": {**parity, "min_psnr_db_required": PARITY_MIN_PSNR[quantization]},
        "latency_ms": latency, "num_threads": num_threads,
    }
    return tflite_bytes, report
