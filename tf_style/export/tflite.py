"""Converting a network to TFLite: a pure function that returns the ``.tflite`` bytes.

    keras.Model --ExportArchive--> SavedModel (its signature) --TFLiteConverter--> bytes

Writing files is the caller's business. Every converted model keeps its
network's signature (`tf_style.networks.signatures`), whatever its
quantisation: for the per-style networks, ``stylize`` with input ``image``
float32 (1, H, W, 3) RGB in [0, 1], H and W chosen at run time (at least 8),
and output ``stylized_image`` of the same shape, dtype and range.
"""

from __future__ import annotations

import enum
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np

from tf_style.errors import ConfigError, ModelError
from tf_style.networks.signatures import IMAGE_NAME, IMAGE_TO_IMAGE, ModelSignature


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
    def parse(cls, value: str | Quantization) -> Quantization:
        """The member named by `value`; ConfigError for anything else."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(
                f"unknown quantization {value!r}; choose one of {', '.join(member.value for member in cls)}"
            ) from None


def model_inputs(signature: ModelSignature, tensors: Sequence):
    """What a Keras model of `signature` is called with: the tensor itself for one input, else a dict."""
    if len(signature.inputs) == 1:
        return tensors[0]
    return {name: tensor for name, tensor in zip(signature.input_names, tensors)}


def named_outputs(signature: ModelSignature, outputs) -> dict:
    """A Keras model's output(s) by the signature's output names."""
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: output for name, output in zip(signature.output_names, outputs)}


def export_saved_model(model, directory: str, signature: ModelSignature = IMAGE_TO_IMAGE) -> None:
    """Writes `model` as a SavedModel whose one endpoint is `signature`."""
    import keras
    import tensorflow as tf

    specs = [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name) for spec in signature.inputs]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=signature.name,
        fn=lambda *tensors: named_outputs(signature, model(model_inputs(signature, tensors), training=False)),
        input_signature=specs,
    )
    archive.write_out(directory, verbose=False)


def convert_to_tflite(
    model,
    quantization: Quantization | str = Quantization.FLOAT32,
    representative_images: Sequence[np.ndarray | Mapping[str, np.ndarray]] | None = None,
    signature: ModelSignature = IMAGE_TO_IMAGE,
) -> bytes:
    """Converts a network to a TFLite flatbuffer.

    Args:
        model: A Keras model that takes and gives what `signature` says.
        quantization: A `Quantization` or its value.
        representative_images: Calibration data for the activation ranges;
            required for INT8, ignored otherwise. Each item is a float32 photo
            (H, W, 3) in [0, 1], or, for a network with more inputs, a dict of
            every input by name (each without the batch axis). A few dozen of
            the user's own photos at the size they will use is enough.
        signature: The network's inputs and outputs.

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
        export_saved_model(model, directory, signature)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=[signature.name])
        if quantization is not Quantization.FLOAT32:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization is Quantization.FLOAT16:
            converter.target_spec.supported_types = [tf.float16]
        if quantization is Quantization.INT8:
            calibration = [_calibration_inputs(item, signature) for item in representative_images]
            converter.representative_dataset = lambda: iter(calibration)
        try:
            return converter.convert()
        except Exception as error:  # The converter raises ConverterError and others with long logs.
            raise ModelError(
                f"TFLite conversion ({quantization.value}) failed: {str(error).strip().splitlines()[0][:200]}"
            ) from None


def _calibration_inputs(item, signature: ModelSignature) -> dict[str, np.ndarray]:
    """One calibration sample: every input of `signature` by name, with a batch axis."""
    named = item if isinstance(item, Mapping) else {IMAGE_NAME: item}
    return {name: np.asarray(named[name], np.float32)[None] for name in signature.input_names}
