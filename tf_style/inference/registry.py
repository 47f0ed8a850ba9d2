"""The shipped networks: ``saved_models/<name>/``, installed with the package.

``saved_models/`` sits at the repository's top level and is installed as the
package data ``tf_style.saved_models`` (setup.cfg), so a wheel install and a
source checkout find the same files. Each folder holds ``<name>.keras``,
``<name>_fp16.tflite``, ``<name>_int8.tflite``, a sample and its model card
(``model_card.json``). Two kinds:

* a style: the folder paints one painting (and holds its thumbnail);
* a multi-style network: its model card lists its ``styles``, in the order of
  the network's style weights.
"""

from __future__ import annotations

import importlib.resources
import json
import os

from tf_style.errors import ModelError

# Which of a shipped style's files to run: TFLite with int8 weights (the fastest on CPUs),
# TFLite with float16 weights, or the Keras model.
MODEL_VARIANTS = ("int8", "fp16", "keras")


def saved_models_dir() -> str:
    """The folder that holds the shipped styles."""
    try:
        return str(importlib.resources.files("tf_style.saved_models"))
    except ModuleNotFoundError:  # A source checkout on sys.path without an install.
        return os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "saved_models"
        )


def shipped_models() -> list[str]:
    """Names of every shipped network, styles and multi-style networks (empty when none are installed)."""
    folder = saved_models_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name, f"{name}.keras")))


def shipped_styles() -> list[str]:
    """Names of the shipped styles: what ``--model=<name>`` paints by itself."""
    return [name for name in shipped_models() if not _card_styles(os.path.join(saved_models_dir(), name))]


def style_names(model_path: str) -> list[str] | None:
    """The styles a multi-style model file paints, from the model card beside it; None if it has none."""
    return _card_styles(os.path.dirname(os.path.abspath(model_path))) or None


def _card_styles(folder: str) -> list[str]:
    try:
        with open(os.path.join(folder, "model_card.json"), encoding="utf-8") as file:
            styles = json.load(file).get("styles") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [str(name) for name in styles] if isinstance(styles, list) else []


def is_style_name(model: str) -> bool:
    """Whether `model` reads as a style's name rather than a path (no extension, no folder)."""
    return not os.path.splitext(model)[1] and os.sep not in model and "/" not in model


def resolve_model_path(model: str, variant: str = "int8") -> str:
    """A model file's path: `model` itself when it names a file; a shipped network's file for its name.

    Args:
        model: A ``.keras``/``.tflite`` path, or the name of a shipped style or multi-style network.
        variant: For a name, which of its files: "int8" or "fp16" (TFLite), or "keras".

    Raises:
        ModelError: `model` reads as a name (no extension or folder) but nothing
            shipped has it, or `variant` is unknown.
    """
    if variant not in MODEL_VARIANTS:
        raise ModelError(f"unknown model variant {variant!r}; choose one of {', '.join(MODEL_VARIANTS)}")
    if not is_style_name(model):
        return model
    if model not in shipped_models():
        raise ModelError(
            f"{model!r} is neither a model file nor a shipped style; shipped: "
            f"{', '.join(shipped_models()) or f'none found in {saved_models_dir()}'}"
        )
    file_name = f"{model}.keras" if variant == "keras" else f"{model}_{variant}.tflite"
    return os.path.join(saved_models_dir(), model, file_name)
