"""docs/cli.md is generated from the flag definitions and must match them."""

import os

from tf_style.cli.reference import cli_document, reference_in_subprocess

from conftest import REPOSITORY


def test_docs_cli_reference_matches_flag_definitions():
    with open(os.path.join(REPOSITORY, "docs", "cli.md")) as file:
        assert file.read() == cli_document(), "docs/cli.md is stale: run python scripts/update_cli_reference.py"


def test_reference_lists_every_flag_with_its_default():
    section = reference_in_subprocess("stylize")
    assert section.startswith("## `tf-style stylize`\n\nRepaint a photo in the style of")
    for line in ("| `--num_steps` | `100` |", "| `--optimizer` | `lbfgs` |", "| `--style_image` | — |"):
        assert line in section
    assert "(lbfgs \\| adam)" in section
    section = reference_in_subprocess("apply")
    assert "| `--strength` | `1.0` |" in section and "(int8 \\| fp16 \\| keras)" in section
    assert "| `--model_precision` | `int8` | Alias for --model_variant." in section
