"""Runners: one call interface for ``.keras`` and ``.tflite`` networks of any signature.

A runner takes and gives NumPy arrays by the signature's names
(`tf_style.networks.signatures`). Called with just an image, it paints it:
``runner(image, **other_inputs) -> stylized_image``, float32 (H, W, 3) or
(1, H, W, 3) RGB in [0, 1]. TFLite files run with the LiteRT interpreter
(``ai-edge-litert``), or ``tf.lite`` when LiteRT is not installed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tf_style.errors import ConfigError, ModelError, first_line
from tf_style.io.files import check_model_file
from tf_style.networks.signatures import IMAGE_NAME, IMAGE_TO_IMAGE, MIN_IMAGE_SIZE, STYLIZED_IMAGE_NAME

SIGNATURE_NAME = IMAGE_TO_IMAGE.name
# Interpreter threads beyond this are refused (100,000 crashed LiteRT); no CPU we run on has more cores.
MAX_THREADS = 256


def _interpreter_class():
    try:
        from ai_edge_litert import interpreter
    except ImportError:  # LiteRT not installed: TensorFlow's own copy of the interpreter.
        import tensorflow as tf

        return tf.lite.Interpreter
    return interpreter.Interpreter


def _image_batch(image: np.ndarray) -> np.ndarray:
    """`image` as a (1, H, W, 3) float32 batch; ConfigError when it is too small for the networks."""
    image = np.asarray(image, np.float32)
    batch = image if image.ndim == 4 else image[None]
    if min(batch.shape[1:3]) < MIN_IMAGE_SIZE:
        raise ConfigError(
            f"image is {batch.shape[2]}x{batch.shape[1]}; the network needs at least "
            f"{MIN_IMAGE_SIZE} pixels on each side"
        )
    return batch


class TFLiteRunner:
    """Runs a ``.tflite`` network on inputs of any size.

    Resizes dynamic inputs to each call's arrays, quantises inputs and
    dequantises outputs whose types are integers. The model must have an RGB
    image input (named ``image``, or its only input) and an image output (named
    ``stylized_image``, or its only output).

    Attributes:
        signature_name: The signature it runs (``stylize`` when the file has it).
        inputs, outputs: {name: LiteRT tensor details} of that signature.
        image_input, image_output: The names of the image input and output.

    Example:
        >>> runner = TFLiteRunner.from_file("starry_night_fp16.tflite")  # doctest: +SKIP
        >>> stylized_image = runner(photo)  # (H, W, 3) float32 in [0, 1]  # doctest: +SKIP
    """

    def __init__(self, model_content: bytes, num_threads: int | None = None, paints: bool = True):
        """Loads the model.

        Args:
            model_content: The ``.tflite`` bytes.
            num_threads: CPU threads for the interpreter; None for its default.
            paints: Whether it gives a picture (``image_output``); False for a model
                that only reads an image (a universal style encoder), run with `run`.

        Raises:
            ConfigError: `num_threads` outside 1 to `MAX_THREADS`.
            ModelError: the bytes are not a TFLite model with an image input and output
                of any size.
        """
        if num_threads is not None and not (isinstance(num_threads, int) and 1 <= num_threads <= MAX_THREADS):
            raise ConfigError(f"num_threads must be a whole number from 1 to {MAX_THREADS}, got {num_threads!r}")
        interpreter_class = _interpreter_class()
        try:
            self.interpreter = interpreter_class(model_content=bytes(model_content), num_threads=num_threads)
            signatures = self.interpreter.get_signature_list()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"not a TFLite model ({first_line(error)})") from None
        if not signatures:
            raise ModelError("the TFLite model has no signature")
        self.signature_name = SIGNATURE_NAME if SIGNATURE_NAME in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(self.signature_name)
        self.inputs = self.runner.get_input_details()
        self.outputs = self.runner.get_output_details()
        self.image_input = _pick(self.inputs, IMAGE_NAME, "input")
        self.image_output = _pick(self.outputs, STYLIZED_IMAGE_NAME, "output") if paints else None
        shape = [int(size) for size in self.inputs[self.image_input]["shape_signature"]]
        if len(shape) != 4 or shape[-1] != 3:
            raise ModelError(f"the TFLite model's image input is not an RGB image batch: {shape}")
        _check_any_size(shape[1:3], "TFLite")

    @classmethod
    def from_file(cls, path: str, num_threads: int | None = None, paints: bool = True) -> TFLiteRunner:
        """Loads a ``.tflite`` file (ModelError when missing, empty or not a model); `paints` as the constructor's."""
        check_model_file(path)
        with open(path, "rb") as file:
            content = file.read()
        try:
            return cls(content, num_threads=num_threads, paints=paints)
        except ModelError as error:
            raise ModelError(f"{path}: {error}") from None

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every output by name, float32, for every input by name (each with its batch axis)."""
        missing = set(self.inputs) - set(inputs)
        if missing:
            raise ConfigError(f"the model needs the inputs {', '.join(sorted(missing))}")
        feed = {name: _quantize(np.asarray(inputs[name]), details) for name, details in self.inputs.items()}
        try:
            results = self.runner(**feed)
        except (RuntimeError, ValueError) as error:  # LiteRT's errors for a model that cannot run these inputs.
            shapes = ", ".join(f"{name} {list(np.shape(value))}" for name, value in feed.items())
            raise ModelError(f"the TFLite model failed on {shapes}: {first_line(error)}") from None
        return {name: _dequantize(results[name], details) for name, details in self.outputs.items()}

    def __call__(self, image: np.ndarray, **inputs: np.ndarray) -> np.ndarray:
        """Paints one image.

        Args:
            image: float32 (H, W, 3) or (1, H, W, 3) RGB in [0, 1], sides at least 8.
            **inputs: The model's other inputs, by name, with their batch axis.

        Returns:
            float32 array of the same shape, in [0, 1].

        Raises:
            ModelError: the model fails, or gives another shape or non-finite values.
        """
        batch = _image_batch(image)
        output = _checked_output(self.run({**inputs, self.image_input: batch})[self.image_output], batch)
        return output if np.ndim(image) == 4 else output[0]


class KerasRunner:
    """Runs a Keras network with the runners' call interface (see the module docstring).

    Args:
        model: A Keras model whose first input and output are RGB image batches of any size.

    Raises:
        ModelError: the model's image input has a fixed height or width.
    """

    def __init__(self, model):
        self.model = model
        self.input_names = [tensor.name for tensor in model.inputs]
        _check_any_size(model.inputs[0].shape[1:3], "Keras")

    def __call__(self, image: np.ndarray, **inputs: np.ndarray) -> np.ndarray:
        """Paints one image, as `TFLiteRunner.__call__`."""
        batch = _image_batch(image)
        try:
            outputs = self.model({**inputs, self.input_names[0]: batch} if inputs else batch, training=False)
        except Exception as error:  # TensorFlow and Keras raise many kinds for a model that cannot run.
            raise ModelError(
                f"the Keras model failed on a {batch.shape[2]}x{batch.shape[1]} image: {first_line(error)}"
            ) from None
        output = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        output = _checked_output(np.asarray(output, np.float32), batch)
        return output if np.ndim(image) == 4 else output[0]


def _check_any_size(height_width, kind: str) -> None:
    """ModelError unless a model's image input takes any height and width (None or -1 in its shape)."""
    fixed = [size for size in height_width if size is not None and size > 0]
    if fixed:
        raise ModelError(
            f"the {kind} model takes images of a fixed size ({list(height_width)}); tf_style needs "
            "one exported with any height and width"
        )


def _checked_output(output: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """The model's picture clipped to [0, 1], once it has the photo's shape and finite values (else ModelError)."""
    if output.shape != batch.shape:
        raise ModelError(
            f"the model gave an output of shape {list(output.shape)} for an image of shape "
            f"{list(batch.shape)}; it must give a picture of the photo's size"
        )
    if not np.isfinite(output).all():
        raise ModelError("the model's output has NaN or infinite values (a broken or badly quantised model)")
    return np.clip(output, 0.0, 1.0)


def _pick(details: dict, preferred: str, kind: str) -> str:
    if preferred in details:
        return preferred
    if len(details) == 1:
        return next(iter(details))
    raise ModelError(f"the TFLite model has {len(details)} {kind}s and none named {preferred!r}")


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
