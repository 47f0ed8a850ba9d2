"""Universal style transfer in TFLite: a style encoder and a transfer model, as the mobile apps split it.

    painting (1, H, W, 3) --style encoder--> statistics per level     (once per painting)
    photo (1, H, W, 3) + statistics + style strength --transfer model--> picture

The statistics are the transfer model's inputs by name
(`UniversalStyleTransfer.statistics_specs`): an app computes them once per
painting, may blend several paintings' statistics linearly, and runs only the
transfer model per photo. The photo's sides must be multiples of the coarsest
level's stride (8 for relu4_1) of at least twice it; the library's runner pads
and crops (`tf_style.inference.universal`).

Both files go through what every shipped file does: conversion, parity against
the Keras model, latency (`tf_style.export.parity`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_style.errors import ConfigError, ModelError
from tf_style.export.parity import convert_and_check, psnr
from tf_style.export.tflite import Quantization, convert_to_tflite
from tf_style.inference.runners import TFLiteRunner
from tf_style.networks.universal.contract import PAINTING_NAME, STYLE_STRENGTH_NAME, pad_for_transfer

# Least agreement of the TFLite style encoder's statistics with the Keras one's: the
# relative Frobenius error of each, worst over paintings and statistics.
STATISTICS_MAX_RELATIVE_ERROR = {
    Quantization.FLOAT32: 1e-4,
    Quantization.FLOAT16: 1e-2,
    Quantization.DYNAMIC_INT8: 5e-2,
}


def aligned(image: np.ndarray, alignment: int) -> np.ndarray:
    """`image` (H, W, 3) cropped to sides that are multiples of `alignment` (at least `2 * alignment`)."""
    height, width = (max(2 * alignment, side - side % alignment) for side in image.shape[:2])
    if height > image.shape[0] or width > image.shape[1]:
        raise ConfigError(f"an image of {image.shape[1]}x{image.shape[0]} is smaller than {2 * alignment} pixels")
    return image[:height, :width]


def convert_style_encoder(
    model, quantization: Quantization | str, paintings: Sequence[np.ndarray], transform: str = "wct"
) -> tuple[bytes, dict]:
    """Converts the style encoder and checks its statistics against the Keras model's on `paintings`.

    Returns:
        (the ``.tflite`` bytes, a JSON-ready report: size, worst relative error per statistic).

    Raises:
        ConfigError: a quantisation the style encoder does not support (full int8: its
            statistics span too many orders of magnitude for 8-bit activations).
        ModelError: conversion fails, or a statistic is further off than `STATISTICS_MAX_RELATIVE_ERROR`.
    """
    quantization = Quantization.parse(quantization)
    if quantization not in STATISTICS_MAX_RELATIVE_ERROR:
        raise ConfigError(f"the style encoder converts to float32, float16 or dynamic_int8, not {quantization.value}")
    encoder = model.style_encoder(transform)
    signature = model.style_encoder_signature(transform)
    content = convert_to_tflite(encoder, quantization, signature=signature)
    runner = TFLiteRunner(content, paints=False)
    worst: dict[str, float] = {}
    for painting in paintings:
        expected = model.style_statistics(painting, transform, style_size=None)
        actual = runner.run({PAINTING_NAME: np.asarray(painting, np.float32)[None]})
        for name, value in expected.items():
            error = float(np.linalg.norm(actual[name] - value) / max(np.linalg.norm(value), 1e-12))
            worst[name] = max(worst.get(name, 0.0), error)
    limit = STATISTICS_MAX_RELATIVE_ERROR[quantization]
    failing = {name: error for name, error in worst.items() if error > limit}
    if failing:
        name, error = max(failing.items(), key=lambda item: item[1])
        raise ModelError(
            f"{quantization.value} style encoder too far off: {name} differs by {error:.2%} from the Keras "
            f"model's (at most {limit:.2%})"
        )
    report = {
        "quantization": quantization.value,
        "bytes": len(content),
        "signature": signature.name,
        "inputs": {spec.name: list(spec.shape) for spec in signature.inputs},
        "outputs": {spec.name: list(spec.shape) for spec in signature.outputs},
        "parity": {
            "max_relative_error": {name: round(error, 6) for name, error in worst.items()},
            "max_relative_error_allowed": limit,
            "num_paintings": len(paintings),
        },
    }
    return content, report


def convert_transfer(
    model,
    quantization: Quantization | str,
    photos: Sequence[np.ndarray],
    painting: np.ndarray,
    transform: str = "wct",
    latency_sizes: Sequence[int] = (512,),
    num_threads: int = 2,
) -> tuple[bytes, dict]:
    """Converts the transfer model, checks parity on `photos` with `painting`'s statistics, and times it.

    Photos are cropped to the model's alignment; int8 calibration (full int8 only)
    uses them with those statistics. Returns the bytes and the report of
    `tf_style.export.parity.convert_and_check`.
    """
    statistics = model.style_statistics(painting, transform)
    inputs = {**statistics, STYLE_STRENGTH_NAME: np.ones((1, 1), np.float32)}
    photos = [aligned(photo, model.alignment) for photo in photos]
    return convert_and_check(
        model.transfer_network(transform),
        quantization,
        photos,
        latency_sizes=latency_sizes,
        num_threads=num_threads,
        signature=model.transfer_signature(transform),
        inputs=inputs,
    )


def end_to_end_psnr(model, encoder_runner, transfer_runner, photo, painting, transform: str = "wct") -> float:
    """PSNR (dB) of the two TFLite files' picture against the Keras model's, for one photo and painting."""
    expected = model.transfer(photo, model.style_statistics(painting, transform, style_size=None), 1.0, transform)
    statistics = encoder_runner.run({PAINTING_NAME: np.asarray(painting, np.float32)[None]})
    padded, rows, columns = pad_for_transfer(photo, model.alignment)  # As `transfer` and the library's runner do.
    actual = transfer_runner(padded, **statistics, **{STYLE_STRENGTH_NAME: np.ones((1, 1), np.float32)})
    return psnr(expected, actual[rows, columns])
