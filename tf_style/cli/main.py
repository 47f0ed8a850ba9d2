"""`tf-style <command> [--flags]`: dispatches to one command module.

Each command module defines its own absl flags; only the chosen one is
imported, so commands may share flag names (e.g. --style_image).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "stylize": ("tf_style.cli.stylize", "repaint a photo in the style of paintings (image optimisation)"),
    "train": ("tf_style.cli.train", "train a fast style network for one painting (model optimisation)"),
    "apply": ("tf_style.cli.apply", "paint photos with a trained fast style network (.keras or .tflite)"),
}


def usage() -> str:
    lines = ["usage: tf-style <command> [--flags]   (tf-style <command> --help for its flags)", "", "commands:"]
    lines += [f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> None:
    """Console entry point."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(usage())
        sys.exit(0 if len(argv) >= 2 else 2)
    command = argv[1]
    if command not in COMMANDS:
        print(f"tf-style: error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        sys.exit(2)
    try:  # Ctrl-C while TensorFlow loads or flags are read (the command handles it once it runs).
        from tf_style.cli.common import interrupts_deferred, quiet_tensorflow_startup

        with interrupts_deferred():  # Loading: a Ctrl-C ends it at the next safe point.
            # apply runs TFLite files with LiteRT alone: TensorFlow (3 s, 600 MB) only if it must.
            quiet_tensorflow_startup(argv, load=command != "apply")
            module = importlib.import_module(COMMANDS[command][0])
        module.run([f"tf-style {command}", *argv[2:]])
    except KeyboardInterrupt:
        print(f"tf-style {command}: interrupted while starting; nothing written", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run()
