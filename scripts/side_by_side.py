"""Puts images side by side at one height and writes a small JPEG (for README figures).

python scripts/side_by_side.py --images=photo.png,painting.jpg,result.png --output=docs/figure.jpg
"""

import sys

from absl import app, flags

_IMAGES = flags.DEFINE_list("images", None, "Images, left to right.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "The JPEG to write.", required=True)
_HEIGHT = flags.DEFINE_integer("height", 256, "Height of the strip in pixels.", lower_bound=16)
_GAP = flags.DEFINE_integer("gap", 4, "White pixels between images.", lower_bound=0)


def main(argv):
    del argv
    import numpy as np

    from tf_style.errors import StyleTransferError
    from tf_style.io import images

    try:
        height = _HEIGHT.value
        row = []
        for path in _IMAGES.value:
            image = images.load_image(path)
            width = round(image.shape[1] * height / image.shape[0])
            row += [images.resize_image(image, (height, width)), np.ones((height, _GAP.value, 3), np.float32)]
        images.save_image(np.concatenate(row[:-1], axis=1), _OUTPUT.value, overwrite=True, quality=85)
    except StyleTransferError as error:
        sys.exit(f"side_by_side: error: {error}")
    print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
    app.run(main)
