"""Contact sheets and the gallery script."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tf_style import gallery
from tf_style.io import images
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, build_transform_net

from conftest import REPOSITORY, make_painting, make_photo


def test_contact_sheet_layout():
    photo, painting = make_photo(30, 60), make_painting(40, 40)
    sheet = gallery.contact_sheet(
        [[photo, painting], [None, photo]], cell_height=20, cell_width=40, gap=2, column_labels=["a", "b"]
    )
    assert sheet.shape == (16 + 20 + 2 + 20, 40 + 2 + 40, 3)
    assert sheet[16:36, 42:82].min() < 1.0  # The painting is there ...
    np.testing.assert_array_equal(sheet[38:58, 0:40], 1.0)  # ... and the empty cell is white.
    np.testing.assert_array_equal(sheet[16:36, 40:42], 1.0)  # Gaps are white.
    assert sheet[:16].min() < 0.5  # Labels are drawn.
    with pytest.raises(ValueError, match="at least one image"):
        gallery.contact_sheet([[None]])


def test_fit_to_cell_keeps_aspect_ratio():
    cell = gallery.fit_to_cell(np.zeros((10, 40, 3), np.float32), 20, 20)
    assert cell.shape == (20, 20, 3)
    np.testing.assert_array_equal(cell[:7], 1.0)  # 40x10 becomes 20x5, centred vertically.
    np.testing.assert_allclose(cell[8:12], 0.0, atol=1e-6)


def test_make_gallery_script(tmp_path):
    net = build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1})
    saving.save_keras_model(net, str(tmp_path / "style.keras"))
    for index in range(2):
        images.save_image(make_photo(40, 60, seed=index), str(tmp_path / f"photo{index}.png"))
    script = os.path.join(REPOSITORY, "scripts", "make_gallery.py")
    output = tmp_path / "gallery.jpg"
    completed = subprocess.run(
        [
            sys.executable,
            script,
            f"--content_images={tmp_path / 'photo0.png'},{tmp_path / 'photo1.png'}",
            f"--styles={tmp_path / 'style.keras'}",
            f"--output={output}",
            "--cell_height=30",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    # Three rows (paintings, two photos) of 30 px under 16 px of labels; two columns of 45 px.
    assert images.load_image(str(output)).shape == (16 + 3 * 30 + 2 * 4, 2 * 45 + 4, 3)
