"""The README's CLI reference is generated from the flag definitions and must match them."""

import os

from tf_style.cli.main import COMMANDS
from tf_style.cli.reference import reference_in_subprocess, replace_in_text

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_cli_reference_matches_flag_definitions():
    with open(README) as file:
        text = file.read()
    for command in COMMANDS:
        assert replace_in_text(text, command, reference_in_subprocess(command)) == text, \
            f"README.md's `tf-style {command}` reference is stale: run python scripts/update_cli_reference.py"


def test_reference_lists_every_flag_with_its_default():
    table = reference_in_subprocess("stylize")
    for line in ("| `--num_steps` | `100` |", "| `--optimizer` | `lbfgs` |", "| `--style_image` | — |"):
        assert line in table
    assert "(lbfgs \\| adam)" in table
    table = reference_in_subprocess("apply")
    assert "| `--strength` | `1.0` |" in table and "(int8 \\| fp16 \\| keras)" in table
