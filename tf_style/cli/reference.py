"""The command-line reference (docs/cli.md), generated from the commands' absl definitions.

The docs cannot drift from the code: `scripts/update_cli_reference.py` rewrites
docs/cli.md and a test fails when it differs. Commands share flag names
(``--style_image``), which absl allows once per process, so each command's
section is made in its own process (``python -m tf_style.cli.reference <command>``).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

from absl import flags

from tf_style.cli.common import QUOTES
from tf_style.cli.main import COMMANDS

HEADER = """# Command-line reference

Generated from the flag definitions by `python scripts/update_cli_reference.py`; a test fails when
this file is stale. `tf-style <command> --help` prints the same list in the terminal.

Every command meets bad input the same way: one line `tf-style <command>: error: ...` on stderr
and exit status 1, before any long work starts, and nothing the user had is overwritten without
`--overwrite`. Every file is written to a temporary name and renamed, so none is ever
half-written. `--verbosity=0` also shows TensorFlow's own logs, which are hidden otherwise.
"""


def markdown_reference(command: str) -> str:
    """The Markdown section of `tf-style <command>`: its docstring and a table of its flags."""
    module = importlib.import_module(COMMANDS[command][0])
    rows = ["| flag | default | what it does |", "| --- | --- | --- |"]
    for flag in sorted(flags.FLAGS.get_flags_for_module(module), key=lambda flag: flag.name):
        choices = " (" + " \\| ".join(flag.parser.enum_values) + ")" if hasattr(flag.parser, "enum_values") else ""
        default = "" if flag.default in (None, [], "") else flag.default_as_str.strip(QUOTES)
        default = f"`{default}`" if default else "—"
        text = re.sub(r"^<[^>]*>: ", "", " ".join(flag.help.split()))  # absl's "<a|b>: " enum prefix.
        rows.append(f"| `--{flag.name}` | {default} | {text.replace('|', '/')}{choices} |")
    title, _, body = (module.__doc__ or "").strip().partition("\n")
    summary = title.split(":", 1)[-1].strip()  # "`tf-style apply`: paint ..." -> "Paint ..."
    return "\n".join([f"## `tf-style {command}`", "", summary[:1].upper() + summary[1:], body, "", *rows])


def reference_in_subprocess(command: str) -> str:
    """`markdown_reference(command)`, computed in a fresh Python process."""
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.reference", command],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return completed.stdout.rstrip("\n")


def cli_document() -> str:
    """The whole of docs/cli.md."""
    return "\n\n".join([HEADER.rstrip("\n"), *(reference_in_subprocess(command) for command in COMMANDS)]) + "\n"


if __name__ == "__main__":
    print(markdown_reference(sys.argv[1]))
