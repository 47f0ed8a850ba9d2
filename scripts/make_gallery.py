"""Makes a content x style gallery (a small JPEG) from the photos and styles on its command line.

    python scripts/make_gallery.py --content_images=a.png,b.png \
        --styles=starry_night,great_wave,painting.jpg --output=docs/gallery.jpg

Each --styles entry is a shipped style's name or a .keras/.tflite network
(stylised in milliseconds by `tf-style apply`'s code), or a painting's image
file (stylised by image optimisation with `tf-style stylize`'s defaults and
--num_steps). The top row shows the paintings, the left column the photos.
"""

from __future__ import annotations

import os
import sys

from absl import flags

_CONTENT_IMAGES = flags.DEFINE_list("content_images", None, "Photos, one row each.")
_STYLES = flags.DEFINE_list("styles", None, "Shipped style names, .keras/.tflite files or paintings, one column each.")
_OUTPUT = flags.DEFINE_string("output", "gallery.jpg", "The JPEG to write.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace --output.")
_MAX_SIZE = flags.DEFINE_integer("max_size", 512, "Longer side at which each photo is stylised.", lower_bound=16)
_CELL_HEIGHT = flags.DEFINE_integer("cell_height", 160, "Height of each picture in the gallery.", lower_bound=16)
_BACKBONE = flags.DEFINE_enum("backbone", "vgg16_hed", ["vgg19", "vgg16_hed"], "Backbone for paintings.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 100, "Image-optimisation steps for paintings.", lower_bound=1)


def _column(style: str):
    """(label, painting thumbnail or None, function photo -> picture) for one --styles entry."""
    from tf_style import StylizeConfig, stylize
    from tf_style.inference import apply, registry
    from tf_style.io import images

    extension = os.path.splitext(style)[1].lower()
    if extension in images.IMAGE_EXTENSIONS:
        painting = images.load_image(style)
        config = StylizeConfig(backbone=_BACKBONE.value, max_size=_MAX_SIZE.value, num_steps=_NUM_STEPS.value)
        return (
            os.path.splitext(os.path.basename(style))[0],
            painting,
            lambda photo: stylize(photo, painting, config).image,
        )
    path = registry.resolve_model_path(style)
    style_function = apply.load_style_model(path)
    thumbnail = os.path.join(os.path.dirname(path), "painting.jpg")
    painting = images.load_image(thumbnail) if style in registry.shipped_styles() else None
    return style, painting, lambda photo: apply.apply_style(style_function, photo, tile_size=1024)


def gallery_main(argv: list[str]) -> int:
    from tf_style import gallery
    from tf_style.cli.common import check_no_arguments
    from tf_style.errors import ConfigError
    from tf_style.io import files, images

    check_no_arguments(argv)
    if not _CONTENT_IMAGES.value or not _STYLES.value:
        raise ConfigError("--content_images and --styles are required")
    files.check_writable(_OUTPUT.value, _OVERWRITE.value)
    photos = [images.load_image(path, max_size=_MAX_SIZE.value) for path in _CONTENT_IMAGES.value]
    columns = [_column(style) for style in _STYLES.value]
    rows = [[None] + [painting for _, painting, _ in columns]]
    for photo in photos:
        rows.append([photo] + [style_function(photo) for _, _, style_function in columns])
    sheet = gallery.contact_sheet(
        rows, cell_height=_CELL_HEIGHT.value, column_labels=["photo"] + [label for label, _, _ in columns]
    )
    images.save_image(sheet, _OUTPUT.value, overwrite=_OVERWRITE.value, quality=85)
    print(f"wrote {_OUTPUT.value} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


def main(argv: list[str]) -> None:
    from tf_style.cli.common import exit_with_status

    exit_with_status("make_gallery.py", gallery_main, argv, "interrupted; nothing written")


if __name__ == "__main__":
    from tf_style.cli.common import quiet_tensorflow_startup, run_command

    quiet_tensorflow_startup(sys.argv)
    run_command("make_gallery.py", sys.modules[__name__], main, sys.argv)
