"""What a user gets from an install: the wheel carries the shipped styles and the licence."""

import configparser
import os
import subprocess
import sys
import zipfile

import pytest

from tf_style.inference import registry

from conftest import REPOSITORY


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder), REPOSITORY],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    (path,) = folder.glob("tf_style-*.whl")
    return path


def test_the_wheel_carries_every_shipped_file_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    root = registry.saved_models_dir()
    folders = [name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name)) and name[0] != "_"]
    assert {*registry.shipped_styles(), "universal", "universal_fast"} <= set(folders)
    for folder in folders:  # The styles, and the universal models.
        for file_name in os.listdir(os.path.join(root, folder)):
            assert f"tf_style/saved_models/{folder}/{file_name}" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") or name.endswith(".dist-info/LICENSE") for name in names)
    assert "tf_style/networks/johnson/transform_net.py" in names
    assert not any(name.startswith(("tests/", "scripts/", "saved_models/")) for name in names)


def test_an_installed_wheel_paints_a_shipped_style_from_another_folder(wheel, tmp_path):
    """Installed without its dependencies into a folder of its own, which Python then finds first."""
    target = tmp_path / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", "apply", "--model=starry_night", "--output_image=painted.png"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=elsewhere,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (elsewhere / "painted.png").stat().st_size > 0
    check = subprocess.run(
        [sys.executable, "-c", "import tf_style; print(tf_style.__file__)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert check.stdout.startswith(str(target))  # The wheel's copy ran, not the checkout.


def test_the_licence_is_the_one_the_metadata_declares():
    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(REPOSITORY, "setup.cfg"))
    assert metadata["metadata"]["license"] == "Apache-2.0"
    with open(os.path.join(REPOSITORY, "LICENSE")) as file:
        text = file.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_demo_outputs_are_ignored_by_git():
    with open(os.path.join(REPOSITORY, ".gitignore")) as file:
        ignored = file.read().split()
    for name in ("/demo.png", "/demo.json", "/demo_fast.png", "/stylized.png", "/stylized.json", "/runs/"):
        assert name in ignored
