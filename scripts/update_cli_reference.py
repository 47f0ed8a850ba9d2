"""Rewrites the CLI reference tables in README.md from the absl flag definitions.

    python scripts/update_cli_reference.py          # rewrite README.md
    python scripts/update_cli_reference.py --check  # exit 1 if README.md is stale
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tf_style.cli.main import COMMANDS  # noqa: E402
from tf_style.cli.reference import reference_in_subprocess, replace_in_text  # noqa: E402

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


def main():
    with open(README) as file:
        text = file.read()
    updated = text
    for command in COMMANDS:
        updated = replace_in_text(updated, command, reference_in_subprocess(command))
    if "--check" in sys.argv[1:]:
        if updated != text:
            print("README.md's CLI reference is stale: run python scripts/update_cli_reference.py")
            sys.exit(1)
        print("README.md's CLI reference is up to date")
        return
    with open(README, "w") as file:
        file.write(updated)
    print("updated README.md")


if __name__ == "__main__":
    main()
