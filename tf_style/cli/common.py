"""What every `tf-style` command shares: quiet start-up, flag parsing, help, errors, manifests.

Each command module defines its absl flags and a ``<command>_main(argv) -> int``
that raises `StyleTransferError` for bad input; `run_command` parses the flags,
prints the command's own ``--help``, and turns every expected failure into one
line on stderr and an exit status.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Sequence

from absl import app, flags
from absl import logging as absl_logging

from tf_style.errors import ConfigError, StyleTransferError, first_line

HELP_ARGUMENTS = ("-h", "--help", "-help", "--helpshort", "-?")
QUOTES = "'\""  # Around absl's string defaults.
_native_logs_wanted: bool | None = None  # Set by quiet_tensorflow_startup.


def requested_verbosity(argv: Sequence[str]) -> int | None:
    """The value of ``--verbosity`` / ``-v`` in `argv`, if given (read before absl parses flags)."""
    for index, argument in enumerate(argv):
        name, has_value, value = argument.partition("=")
        if name in ("--verbosity", "-verbosity", "--v", "-v"):
            if not has_value and index + 1 < len(argv):
                value = argv[index + 1]
            try:
                return int(value)
            except ValueError:
                return None
    return None


@contextlib.contextmanager
def native_stderr_silenced():
    """Catches what native code writes to the process's stderr (fd 2) meanwhile; replays it on an unforeseen error.

    TensorFlow and LiteRT log from C++ (oneDNN, CUDA drivers, cuInit, the XNNPACK
    delegate) where no Python setting reaches.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except StyleTransferError:  # Its one line says what went wrong; the chatter would only bury it.
            raise
        except Exception:  # Something unforeseen: what native code said may explain it.
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def wants_native_logs() -> bool:
    """Whether the user asked to see TensorFlow's own logs (``--verbosity``, or TF_CPP_MIN_LOG_LEVEL set).

    Decided by `quiet_tensorflow_startup` when it ran; otherwise from the environment and the parsed flags.
    """
    if _native_logs_wanted is not None:
        return _native_logs_wanted
    return "TF_CPP_MIN_LOG_LEVEL" in os.environ or (flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].present)


def quiet_tensorflow_startup(argv: Sequence[str], load: bool = True) -> None:
    """Prepares TensorFlow's logging, and loads it now unless `load` is False.

    TensorFlow logs a few lines from C++ while it loads (oneDNN, CUDA drivers,
    cuInit) before anything can set its log level, so they are caught during the
    import (`native_stderr_silenced`); ``TF_CPP_MIN_LOG_LEVEL=3`` quiets what
    follows. With ``--verbosity`` in `argv` (or ``TF_CPP_MIN_LOG_LEVEL`` set by
    the user) nothing is hidden. A command that may not need TensorFlow at all
    (`tf-style apply` with a TFLite file) passes ``load=False`` and calls
    `load_tensorflow_quietly` when it does.
    """
    global _native_logs_wanted
    _native_logs_wanted = "TF_CPP_MIN_LOG_LEVEL" in os.environ or requested_verbosity(argv) is not None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if _native_logs_wanted else "3")
    if load:
        load_tensorflow_quietly()


def load_tensorflow_quietly() -> None:
    """Imports TensorFlow (once), its C++ start-up lines caught unless the user asked for logs.

    A Ctrl-C meanwhile waits for the import to end (`interrupts_deferred`).
    """
    if "tensorflow" in sys.modules:
        return
    with interrupts_deferred(), contextlib.nullcontext() if wants_native_logs() else native_stderr_silenced():
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def interrupts_deferred():
    """Holds a Ctrl-C (SIGINT) until the block ends, then raises KeyboardInterrupt.

    TensorFlow's import calls Python back from C++, and a KeyboardInterrupt raised inside such a
    callback came out as a SystemError that the import swallowed: the command printed a traceback
    and ran on. Python runs signal handlers between bytecodes, so a handler that only notes the
    signal raises nothing inside C++. Where SIGINT is not Python's default (ignored in a background
    job, or a handler of the caller's), or off the main thread, it is left as it is.
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def command_help(program: str, module) -> str:
    """The usage line, the command's docstring and its own flags (name, meaning, default)."""
    lines = [f"usage: {program} [--flags]", "", (module.__doc__ or "").strip(), "", "flags:"]
    for flag in sorted(flags.FLAGS.get_flags_for_module(module), key=lambda flag: flag.name):
        choices = getattr(flag.parser, "enum_values", None)
        text = " ".join(flag.help.split())
        if choices:
            text = text.removeprefix(f"<{'|'.join(choices)}>: ") + f" One of: {', '.join(choices)}."
        if flag.default not in (None, [], ""):  # Without one, the help says what happens.
            text += f" (default: {flag.default_as_str.strip(QUOTES)})"
        lines.append(f"  --{flag.name}")
        lines += textwrap.wrap(text, width=100, initial_indent="      ", subsequent_indent="      ")
    lines += ["", "  --verbosity=0 also shows TensorFlow's logs; --helpfull lists every flag, absl's own included."]
    return "\n".join(lines)


def flags_parser(program: str, module) -> Callable[[list[str]], list[str]]:
    """An absl flags parser: the command's help for ``--help`` (exit 0), one line for a bad flag (exit 1)."""

    def parse(argv: list[str]) -> list[str]:
        if any(argument in HELP_ARGUMENTS for argument in argv[1:]):
            say(command_help(program, module))
            sys.exit(0)
        try:
            remaining = flags.FLAGS(argv)
        except flags.Error as error:
            print(
                f"{program}: error: {' '.join(str(error).split())} ({program} --help lists the flags)", file=sys.stderr
            )
            sys.exit(1)
        if not flags.FLAGS["verbosity"].present:  # Only warnings, from absl and TensorFlow's Python side.
            absl_logging.set_verbosity(absl_logging.WARNING)
            logging.getLogger("tensorflow").setLevel(logging.WARNING)
        return remaining

    return parse


def run_command(program: str, module, main: Callable[[list[str]], None], argv: list[str]) -> None:
    """Parses the flags `module` defines from `argv` (argv[0] is the program name), then calls `main`.

    `main` gets the arguments left after the flags and ends with `exit_with_status`.
    """
    app.run(main, argv=argv, flags_parser=flags_parser(program, module))


def exit_with_status(
    program: str, command_main: Callable[[list[str]], int], argv: list[str], interrupted_message: str
) -> None:
    """Runs `command_main`; bad input, and running out of memory or of what the system allows, become one
    line on stderr and exit 1; Ctrl-C exits 130."""
    try:
        status = command_main(argv)
    except StyleTransferError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print(f"{program}: {interrupted_message}", file=sys.stderr)
        status = 130
    except MemoryError:
        print(f"{program}: error: out of memory; try smaller images (--max_size, --tile_size)", file=sys.stderr)
        status = 1
    except OSError as error:  # The system refused something not foreseen above (a device, a permission).
        print(f"{program}: error: {first_line(error)}", file=sys.stderr)
        status = 1
    sys.exit(status)


def say(text: str) -> None:
    """Prints a line of results on stdout; a reader that stops reading (``| head``) is not an error.

    Once the pipe is closed, later lines go to /dev/null and the command carries on.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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


def check_no_arguments(argv: list[str]) -> None:
    """Raises ConfigError for positional arguments (a typo such as a missing ``--``)."""
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])} (flags look like --name=value)")


def versions() -> dict:
    """Versions of Python and the libraries that decide a result, for run manifests."""
    import keras
    import numpy
    import PIL
    import tensorflow

    import tf_style

    return {
        "tf_style": tf_style.__version__,
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
    }


def parse_style_blend(values: list[str] | None) -> tuple[float, ...] | None:
    """--style_blend's weights as numbers (None when not given); ConfigError for anything else."""
    if not values:
        return None
    try:
        return tuple(float(value) for value in values)
    except ValueError:
        raise ConfigError(f"--style_blend must be numbers, got {','.join(values)}") from None
