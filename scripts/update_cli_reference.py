"""Rewrites docs/cli.md, the command-line reference, from the commands' absl flag definitions.

python scripts/update_cli_reference.py          # rewrite docs/cli.md
python scripts/update_cli_reference.py --check  # exit 1 if docs/cli.md is stale
"""

import os
import sys

from tf_style.cli.reference import cli_document

CLI_REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "cli.md")


def main():
    text = cli_document()
    if "--check" in sys.argv[1:]:
        with open(CLI_REFERENCE) as file:
            if file.read() != text:
                print("docs/cli.md is stale: run python scripts/update_cli_reference.py")
                sys.exit(1)
        print("docs/cli.md is up to date")
        return
    with open(CLI_REFERENCE, "w") as file:
        file.write(text)
    print("updated docs/cli.md")


if __name__ == "__main__":
    main()
