"""Network files: ``.keras`` files saved atomically and loaded safely.

Loading goes through Keras's safe mode (no Python code runs from the file), with
every layer of the project's networks registered.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import keras

from tf_style.errors import ModelError, OutputError
from tf_style.io.files import MAX_MODEL_BYTES, check_model_file, check_writable

# Imported for their side effect: registering the project's layers and models with Keras.
from tf_style.networks import layers as _layers  # noqa: F401
from tf_style.networks.johnson import transform_net as _transform_net  # noqa: F401


def save_keras_model(model: keras.Model, path: str, overwrite: bool = False) -> None:
    """Saves `model` as a ``.keras`` file atomically (temporary file, then rename).

    Raises:
        OutputError: `path` does not end in ``.keras``, its folder is missing or
            not writable, or it exists and `overwrite` is False.
    """
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


def load_keras_model(path: str, input_channels: int | None = 3, output_channels: int | None = 3) -> keras.Model:
    """Loads a network saved by `save_keras_model` (any of the project's networks).

    Args:
        path: The ``.keras`` file.
        input_channels: The channels its first input must have: 3 for an
            image-to-image network; None for any (a decoder of universal style
            transfer, whose input is a level's features).
        output_channels: The channels its first output must have: 3 (RGB) but for
            a distilled encoder of universal style transfer (None: features).

    Raises:
        ModelError: the file is missing, empty, a directory, or not a model
            whose first input and output have those channels.
    """
    check_model_file(path)
    _check_archive(path)
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # zipfile, h5py, json and Keras errors all mean "not a model we can load".
        raise ModelError(f"not a readable Keras model: {path} ({type(error).__name__})") from None
    try:  # A model saved without inputs (subclassed, never called) has none to check.
        channels = (model.inputs[0].shape[-1], model.outputs[0].shape[-1])
    except (AttributeError, IndexError, TypeError):
        channels = None
    if channels is None or output_channels not in (None, channels[1]) or input_channels not in (None, channels[0]):
        kind = {
            (3, 3): "an image-to-image model (RGB in, RGB out)",
            (None, 3): "a decoder (features in, RGB out)",
            (3, None): "an encoder (RGB in, features out)",
        }[(input_channels, output_channels)]
        raise ModelError(f"not {kind}: {path}")
    return model


def _check_archive(path: str) -> None:
    """ModelError unless `path` is a zip archive whose members, unpacked, stay within `MAX_MODEL_BYTES`.

    A ``.keras`` file is a zip of the model's config and weights. The sizes its
    directory declares bound what unpacking it can cost (a reader stops at the
    declared size), so a small file that would expand to gigabytes is refused here,
    before Keras unpacks it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelError(f"not a readable Keras model: {path} ({type(error).__name__})") from None
    if unpacked > MAX_MODEL_BYTES:
        raise ModelError(
            f"{path} would unpack to {unpacked / 2**20:.0f} MiB, more than the "
            f"{MAX_MODEL_BYTES // 2**20} MiB a style network may take"
        )


def float32_copy(model: keras.Model) -> keras.Model:
    """The same functional network computing in float32, with its weights (a mixed-precision one's are float32 already).

    Training in bfloat16 (``mixed_bfloat16``) keeps float32 weights; what ships computes in float32.
    """

    def as_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=as_float32)
    copy.set_weights(model.get_weights())
    return copy
