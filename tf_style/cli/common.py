"""Pieces every `tf-style` command shares: layer-list parsing, versions, JSON output, error reporting."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable

from tf_style.errors import ConfigError, StyleTransferError


def parse_layers(entries: list[str], flag: str) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
    """Splits ["conv1_1:0.5", "conv2_1"] into names and weights (None when no weight is given)."""
    names, weights, weighted = [], [], False
    for entry in entries:
        name, _, weight = entry.partition(":")
        names.append(name.strip())
        if weight:
            weighted = True
            try:
                weights.append(float(weight))
            except ValueError:
                raise ConfigError(f"--{flag}: weight of {name!r} is not a number: {weight!r}") from None
        else:
            weights.append(1.0)
    return tuple(names), (tuple(weights) if weighted else None)


def versions() -> dict:
    """Versions of Python and the libraries that decide a result, for run manifests."""
    import keras
    import numpy
    import PIL
    import tensorflow

    import tf_style

    return {"tf_style": tf_style.__version__, "python": platform.python_version(),
            "tensorflow": tensorflow.__version__, "keras": keras.__version__,
            "numpy": numpy.__version__, "pillow": PIL.__version__}


def write_json(path: str, record: dict, overwrite: bool) -> None:
    """Writes `record` as indented JSON, atomically."""
    from tf_style.images import write_atomically

    write_atomically(path, lambda file: file.write(json.dumps(record, indent=2).encode()), overwrite=overwrite)


def check_no_arguments(argv: list[str]) -> None:
    """Raises ConfigError for positional arguments (a typo such as a missing ``--``)."""
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])} (flags look like --name=value)")


def exit_with_status(program: str, command_main: Callable[[list[str]], int], argv: list[str],
                     interrupted_message: str) -> None:
    """Runs `command_main`; bad input becomes one line on stderr and exit 1, Ctrl-C exit 130."""
    try:
        status = command_main(argv)
    except StyleTransferError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print(f"{program}: {interrupted_message}", file=sys.stderr)
        status = 130
    sys.exit(status)
