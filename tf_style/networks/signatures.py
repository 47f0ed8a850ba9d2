"""Model signatures as data: what a network takes and gives, by name, shape and dtype.

A signature is the contract a network family keeps everywhere it runs: the
SavedModel and TFLite files are exported with it (`tf_style.export.tflite`),
the runners check and feed it (`tf_style.inference.runners`), and the parity
check compares outputs by its names. Dimensions that are None are chosen at run
time (images of any size).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One named input or output.

    Attributes:
        name: Its name in the signature.
        shape: Dimensions; None where any size is accepted.
        dtype: NumPy / TensorFlow dtype name.
        description: What it holds (layout and range), for model cards and docs.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    description: str = ""


@dataclasses.dataclass(frozen=True)
class ModelSignature:
    """A network's named inputs and outputs.

    Attributes:
        name: The signature's key in SavedModel and TFLite files.
        inputs: The inputs, in the order the Keras model takes them.
        outputs: The outputs, in the order the Keras model gives them.
    """

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)


IMAGE_NAME = "image"
STYLIZED_IMAGE_NAME = "stylized_image"
# The smallest image side every shipped network takes (reflection padding at 1/4 resolution needs 2).
MIN_IMAGE_SIZE = 8

# Photo in, picture out: the per-style transform networks.
IMAGE_TO_IMAGE = ModelSignature(
    name="stylize",
    inputs=(TensorSpec(IMAGE_NAME, (1, None, None, 3), description="RGB in [0, 1], sides of at least 8 pixels"),),
    outputs=(TensorSpec(STYLIZED_IMAGE_NAME, (1, None, None, 3), description="RGB in [0, 1], the input's size"),),
)

STYLE_WEIGHTS_NAME = "style_weights"


def multi_style_signature(num_styles: int) -> ModelSignature:
    """Photo and style weights in, picture out: a network that paints `num_styles` styles.

    ``style_weights`` (1, num_styles) float32: a one-hot row paints one style, non-negative
    weights summing to 1 blend them.
    """
    style_weights = TensorSpec(
        STYLE_WEIGHTS_NAME,
        (1, num_styles),
        description=f"{num_styles} non-negative weights summing to 1, one per style (one-hot: one style)",
    )
    return ModelSignature(
        name="stylize", inputs=(*IMAGE_TO_IMAGE.inputs, style_weights), outputs=IMAGE_TO_IMAGE.outputs
    )
