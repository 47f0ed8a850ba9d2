"""Output plans, checked before any work; folders; digests."""

import os

import pytest

from tf_style.errors import ModelError, OutputError
from tf_style.io import files


def test_an_output_may_not_replace_an_input_even_with_overwrite(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"precious")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="output would replace an input"):
            files.plan_outputs([str(tmp_path / "other.png"), str(photo)], overwrite, inputs=[str(photo)])
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    with pytest.raises(OutputError, match="output would replace an input"):
        files.plan_outputs([str(link)], True, inputs=[str(photo)])
    assert photo.read_bytes() == b"precious"


def test_two_outputs_may_not_be_the_same_file(tmp_path):
    with pytest.raises(OutputError, match="two outputs would be the same file"):
        files.plan_outputs([str(tmp_path / "a.png"), str(tmp_path / "." / "a.png")], overwrite=True)


def test_a_name_too_long_for_the_file_system_is_found_first(tmp_path):
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    fits = "a" * (longest - 13 - 4) + ".png"  # The temporary name adds 13 characters.
    files.plan_outputs([str(tmp_path / fits)], overwrite=False)
    with pytest.raises(OutputError, match="output file name is too long"):
        files.plan_outputs([str(tmp_path / ("a" + fits))], overwrite=False)


def test_make_folder_creates_parents_and_refuses_a_file(tmp_path):
    files.make_folder(str(tmp_path / "runs" / "painting"), "--output_dir")
    assert (tmp_path / "runs" / "painting").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="--output_dir is a file, not a folder"):
        files.make_folder(str(tmp_path / "file"), "--output_dir")


def test_a_model_file_over_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.tflite"
    path.write_bytes(b"x" * 2048)
    monkeypatch.setattr(files, "MAX_MODEL_BYTES", 1024)
    with pytest.raises(ModelError, match="more than the 0 MiB a style network may take"):
        files.check_model_file(str(path))
