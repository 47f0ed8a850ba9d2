"""Markdown reference of a command's flags, generated from its absl definitions.

The README's CLI reference is this text between marker comments, so the docs
cannot drift from the code: `scripts/update_cli_reference.py` rewrites it and a
test fails when they differ. Commands share flag names (``--style_image``), which
absl allows once per process, so each command's table is made in its own
process (``python -m tf_style.cli.reference <command>``).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

from absl import flags

from tf_style.cli.main import COMMANDS


def markers(command: str) -> tuple[str, str]:
    return f"<!-- cli-reference:{command}:start -->", f"<!-- cli-reference:{command}:end -->"


def markdown_reference(command: str) -> str:
    """A Markdown table of `tf-style <command>`'s flags: name, default, meaning."""
    module = importlib.import_module(COMMANDS[command][0])
    rows = ["| flag | default | what it does |", "| --- | --- | --- |"]
    for flag in sorted(flags.FLAGS.get_flags_for_module(module), key=lambda flag: flag.name):
        if hasattr(flag.parser, "enum_values"):
            choices = " (" + " \\| ".join(flag.parser.enum_values) + ")"
        else:
            choices = ""
        default = "" if flag.default in (None, [], "") else flag.default_as_str.strip("'\"")
        default = f"`{default}`" if default else "—"
        text = re.sub(r"^<[^>]*>: ", "", " ".join(flag.help.split()))  # absl's "<a|b>: " enum prefix.
        rows.append(f"| `--{flag.name}` | {default} | {text.replace('|', '/')}{choices} |")
    return "\n".join(rows)


def reference_in_subprocess(command: str) -> str:
    """`markdown_reference(command)`, computed in a fresh Python process."""
    completed = subprocess.run([sys.executable, "-m", "tf_style.cli.reference", command], capture_output=True,
                               text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return completed.stdout.rstrip("\n")


def replace_in_text(text: str, command: str, reference: str) -> str:
    """`text` with the block between the command's markers replaced by `reference`."""
    start, end = markers(command)
    if start not in text or end not in text:
        raise ValueError(f"markers for {command!r} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{reference}\n{end}{tail}"


if __name__ == "__main__":
    print(markdown_reference(sys.argv[1]))
