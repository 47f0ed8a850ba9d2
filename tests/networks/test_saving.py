"""Network files: refused before Keras reads them when they are not what they claim."""

import zipfile

import pytest

from tf_style.errors import ModelError
from tf_style.io import files
from tf_style.networks import saving


def test_a_small_archive_that_would_unpack_to_much_more_is_refused_first(tmp_path, monkeypatch):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * 4 * 2**20)  # 4 MiB of zeros: a 4 KiB file.
    monkeypatch.setattr(saving, "MAX_MODEL_BYTES", 2**20)
    assert path.stat().st_size < 2**20
    with pytest.raises(ModelError, match="would unpack to 4 MiB, more than the 1 MiB"):
        saving.load_keras_model(str(path))


@pytest.mark.parametrize(
    "content, message", [(b"not a zip at all", "not a readable Keras model"), (b"", "model file is empty")]
)
def test_a_file_that_is_not_a_keras_archive(tmp_path, content, message):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        saving.load_keras_model(str(path))


def test_the_budget_is_the_model_files_budget():
    assert saving.MAX_MODEL_BYTES == files.MAX_MODEL_BYTES
