"""Painting photos like any painting, in one pass: the shipped universal style transfer decoders.

``saved_models/universal/`` holds one decoder per level (``decoder_relu{k}_1.keras``),
the photorealistic ones (``photo_decoder_relu{k}_1.keras``, which unpool) and a
model card naming the encoder they were trained on; the encoder's weights
come from the backbone's package (`tf_style.backbones.weights`).

Images are (H, W, 3) RGB, float32 in [0, 1].
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from tf_style.errors import ConfigError, ModelError
from tf_style.inference import registry
from tf_style.inference.tiles import StyleFunction

# The shipped models' folders under saved_models/: the VGG16 encoder's, and the fast one with a distilled encoder.
UNIVERSAL_MODEL = "universal"
FAST_UNIVERSAL_MODEL = "universal_fast"
# A painting smaller than this on a side holds too few strokes to have a style; it is refused.
MIN_PAINTING_SIZE = 16


def universal_model_dir(name: str = UNIVERSAL_MODEL) -> str:
    """The folder of a shipped universal model (`UNIVERSAL_MODEL` or `FAST_UNIVERSAL_MODEL`)."""
    return os.path.join(registry.saved_models_dir(), name)


def _card(folder: str) -> dict:
    """The folder's model_card.json (OSError, ValueError when unreadable)."""
    with open(os.path.join(folder, "model_card.json"), encoding="utf-8") as file:
        return json.load(file)


def load_universal_model(folder: str | None = None, extractor_builder=None, photorealistic: bool = False):
    """The encoder and decoders of universal style transfer, from a folder with a ``model_card.json``.

    Args:
        folder: Holds ``model_card.json`` (its ``backbone``, ``decoders`` and
            ``photorealistic_decoders``: ``{level: file name}``, and ``encoder``, the
            file of a distilled encoder, when the backbone's own is not used) and
            those files; None for the shipped `UNIVERSAL_MODEL`.
        extractor_builder: Builds the encoder (`UniversalStyleTransfer`'s argument; tests pass tiny ones).
        photorealistic: Loads the unpooling decoders (a photo takes another photo's look without distortion).

    Returns:
        A `tf_style.networks.universal.model.UniversalStyleTransfer`.

    Raises:
        ModelError: the folder, its card or a decoder is missing or unreadable.
        WeightsError: the encoder's weights cannot be had.
    """
    from tf_style.networks.saving import load_keras_model
    from tf_style.networks.universal.model import UniversalStyleTransfer

    folder = folder or universal_model_dir()
    card_path = os.path.join(folder, "model_card.json")
    try:
        card = _card(folder)
        backbone = card["backbone"]
        key = "photorealistic_decoders" if photorealistic else "decoders"
        if photorealistic and key not in card:
            raise ModelError(f"{card_path} has no photorealistic decoders (photorealistic_decoders)")
        files = card[key]
        levels = {int(level): os.path.join(folder, name) for level, name in files.items()}
        encoder_file = card.get("encoder")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelError(f"no readable universal model card at {card_path} ({type(error).__name__})") from None
    from tf_style.backbones.vgg import ARCHITECTURE

    if backbone not in ARCHITECTURE:
        raise ModelError(f"{card_path}: unknown backbone {backbone!r}")
    if encoder_file is not None and extractor_builder is None:
        from tf_style.networks.universal.model import distilled_extractor_builder

        encoder = load_keras_model(os.path.join(folder, encoder_file), output_channels=None)
        extractor_builder = distilled_extractor_builder(encoder)
    model = UniversalStyleTransfer(
        {level: load_keras_model(path, input_channels=None) for level, path in levels.items()},
        backbone,
        extractor_builder=extractor_builder,
    )
    for level, decoder in model.decoders.items():
        expected, channels = model.encoders[level].output.shape[-1], decoder.inputs[0].shape[-1]
        if channels != expected:
            raise ModelError(f"{levels[level]} decodes {channels} channels; relu{level}_1 has {expected}")
    if model.photorealistic != photorealistic:
        kind = "photorealistic (unpooling)" if photorealistic else "painting (upsampling)"
        raise ModelError(f"{card_path}: its {'photorealistic_' if photorealistic else ''}decoders are not {kind} ones")
    return model


def load_painting_style(
    paintings: Sequence[np.ndarray],
    blend: Sequence[float] | None = None,
    *,
    transform: str = "wct",
    style_strength: float = 1.0,
    style_size: int | None = 512,
    layout_strength: float | None = None,
    photorealistic: bool = False,
    variant: str = "keras",
    num_threads: int | None = None,
    model=None,
    folder: str | None = None,
) -> StyleFunction:
    """A function that paints photos like one painting, or a blend of several, with no training.

    The paintings' statistics are computed once, here; each call then costs one
    pass per level through the encoder and a decoder.

    Args:
        paintings: float32 (H, W, 3) RGB in [0, 1], at least `MIN_PAINTING_SIZE` pixels a side.
        blend: One weight >= 0 per painting (normalised to sum 1); None for equal weights.
        transform: "wct" (whitening and colouring: the paintings' feature
            correlations) or "adain" (per-channel mean and spread only; milder).
        style_strength: 1 for the transformed features, 0 for the photo's own; blends in between.
        style_size: Each painting is resized so its longer side is this (the
            strokes' scale in the picture); None keeps its size.
        layout_strength: How much of the photo's coarse layout of light and dark the
            picture takes back (`tf_style.color.restore_luminance_layout`): WCT gives the
            features the painting's statistics, and with them, unchecked, its light and
            dark masses (a white wall turns navy). 0 leaves the transfer's picture as it is;
            None is 1 for a painting and 0 with `photorealistic`.
        photorealistic: The paintings are photos and the picture stays a photo: the
            unpooling decoders and edge-keeping smoothing (PhotoWCT).
        variant: "keras" runs the Keras models with TensorFlow; "int8" or "fp16"
            the shipped TFLite style encoder and transfer model with LiteRT (WCT only;
            the photorealistic transfer model with `photorealistic`).
        num_threads: CPU threads for TFLite; None for its default.
        model: A `UniversalStyleTransfer` (Keras); None for the one in `folder`.
        folder: The model's folder (`load_universal_model`; its TFLite files for the
            TFLite variants); None for the shipped `UNIVERSAL_MODEL`
            (``universal_model_dir(FAST_UNIVERSAL_MODEL)`` is the fast one).

    Returns:
        ``f(image) -> picture``, both float32 (H, W, 3) in [0, 1] (`tf_style.inference.apply.apply_style` takes it).

    Raises:
        ConfigError: no painting, a painting too small, bad weights, transform, strength or variant.
        ModelError, WeightsError: the model cannot be loaded.
    """
    from tf_style.networks.universal.contract import check_transform

    if not paintings:
        raise ConfigError("at least one painting is needed")
    for index, painting in enumerate(paintings):
        height, width = painting.shape[:2]
        if min(height, width) < MIN_PAINTING_SIZE:
            raise ConfigError(
                f"painting {index + 1} is {width}x{height}; a painting needs at least {MIN_PAINTING_SIZE} "
                "pixels on each side"
            )
    if layout_strength is None:
        layout_strength = 0.0 if photorealistic else 1.0
    if style_size is not None and style_size < MIN_PAINTING_SIZE:
        raise ConfigError(f"style_size must be at least {MIN_PAINTING_SIZE}, got {style_size!r}")
    for name, value in (("style_strength", style_strength), ("layout_strength", layout_strength)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
    check_transform(transform)
    if variant not in registry.MODEL_VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose one of {', '.join(registry.MODEL_VARIANTS)}")
    if variant != "keras" and transform != "wct":
        raise ConfigError(f"the TFLite files paint with wct; {transform} runs with variant=keras")
    blend = [1.0] * len(paintings) if blend is None else list(blend)
    if len(blend) != len(paintings):
        raise ConfigError(f"{len(blend)} blend weights for {len(paintings)} paintings")
    if variant == "keras":
        model = model or load_universal_model(folder, photorealistic=photorealistic)
        if model.photorealistic != photorealistic:
            raise ConfigError(
                f"photorealistic={photorealistic} needs a model "
                f"with{'' if photorealistic else 'out'} unpooling decoders"
            )
        transfer = _keras_painting_style(paintings, blend, transform, style_strength, style_size, model)
    else:
        transfer = _tflite_painting_style(
            paintings, blend, style_strength, style_size, variant, num_threads, photorealistic, folder
        )
    if layout_strength == 0.0:
        return transfer

    def paint(image: np.ndarray) -> np.ndarray:
        from tf_style.color import restore_luminance_layout

        return restore_luminance_layout(transfer(image), image, layout_strength)

    return paint


def _keras_painting_style(paintings, blend, transform, style_strength, style_size, model) -> StyleFunction:
    from tf_style.networks.universal.contract import blend_statistics

    statistics = blend_statistics(
        [model.style_statistics(painting, transform, style_size) for painting in paintings], blend
    )

    def paint(image: np.ndarray) -> np.ndarray:
        return model.transfer(image, statistics, style_strength, transform)

    return paint


def tflite_files(variant: str, folder: str | None = None, photorealistic: bool = False) -> tuple[str, str]:
    """The paths of the style encoder's and the transfer model's TFLite files of a variant ("int8", "fp16").

    One style encoder serves both transfer models: the photorealistic one takes the statistics of
    its levels by name and leaves the others.
    """
    folder = folder or universal_model_dir()
    transfer = f"transfer_photorealistic_{variant}.tflite" if photorealistic else f"transfer_{variant}.tflite"
    return os.path.join(folder, f"style_encoder_{variant}.tflite"), os.path.join(folder, transfer)


def _tflite_painting_style(
    paintings, blend, style_strength, style_size, variant, num_threads, photorealistic, folder
) -> StyleFunction:
    from PIL import Image

    from tf_style.inference.runners import TFLiteRunner
    from tf_style.io.images import fit_within, to_uint8
    from tf_style.networks.universal.contract import (
        PAINTING_NAME,
        STYLE_STRENGTH_NAME,
        blend_statistics,
        pad_for_transfer,
    )

    folder = folder or universal_model_dir()
    encoder_path, transfer_path = tflite_files(variant, folder, photorealistic=photorealistic)
    encoder = TFLiteRunner.from_file(encoder_path, num_threads=num_threads, paints=False)
    transfer = TFLiteRunner.from_file(transfer_path, num_threads=num_threads)
    alignment = _card(folder).get("photorealistic_alignment" if photorealistic else "alignment", 8)
    statistics = []
    for painting in paintings:
        if style_size is not None:  # With Pillow: this path runs without TensorFlow.
            height, width = fit_within(painting.shape, style_size)
            resized = Image.fromarray(to_uint8(painting)).resize((width, height), Image.Resampling.LANCZOS)
            painting = np.asarray(resized, np.float32) / 255.0
        statistics.append(encoder.run({PAINTING_NAME: np.asarray(painting, np.float32)[None]}))
    inputs = {**blend_statistics(statistics, blend), STYLE_STRENGTH_NAME: np.full((1, 1), style_strength, np.float32)}

    def paint(image: np.ndarray) -> np.ndarray:
        padded, rows, columns = pad_for_transfer(image, alignment)
        return transfer(padded, **inputs)[rows, columns]

    return paint
