"""Files out, written atomically; file digests.

Every file the project writes goes through `write_atomically`: a temporary file
in the destination's folder, then a rename. A reader never sees a half-written
file, and an existing file is only replaced once the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from tf_style.errors import ModelError, OutputError, first_line

# `write_atomically`'s temporary file is named ".tmp-" + 8 random characters + the file's name.
_TEMPORARY_NAME_EXTRA = 13


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Raises OutputError unless `path` could be written now (checked before long work).

    Raises:
        OutputError: the folder is missing or not writable, `path` is a directory,
            its name (or the temporary name it is written under) is too long for
            the file system, or `path` exists and `overwrite` is False.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"output path is a directory: {path}")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder is not writable: {folder}")
    name_length = len(os.fsencode(os.path.basename(path)))
    longest = _longest_name(folder) - _TEMPORARY_NAME_EXTRA
    if name_length > longest:
        raise OutputError(f"output file name is too long ({name_length} bytes; at most {longest} here): {path}")
    if os.path.exists(path) and not overwrite:
        raise OutputError(f"output file exists (pass --overwrite to replace it): {path}")


def _longest_name(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # Not reported (Windows, some file systems): the common limit.
        return 255


def plan_outputs(outputs, overwrite: bool, inputs=()) -> None:
    """Checks every file a command will write, before its work starts.

    Each must be writable (`check_writable`), no two may be the same file, and
    none may be one of the command's inputs, even with `overwrite`: the result
    would replace what it was made from.

    Args:
        outputs: The paths to be written.
        overwrite: Whether existing outputs may be replaced.
        inputs: The paths the command reads.

    Raises:
        OutputError: the first problem found.
    """
    seen = {}
    read = {_identity(path): os.fspath(path) for path in inputs if path}
    for path in outputs:
        path = os.fspath(path)
        identity = _identity(path)
        if identity in read:
            raise OutputError(f"output would replace an input: {path} is {read[identity]}")
        if identity in seen:
            raise OutputError(f"two outputs would be the same file: {seen[identity]} and {path}")
        seen[identity] = path
        check_writable(path, overwrite)


def _identity(path) -> str:
    """What names one file: its real path (symbolic links and ./.. resolved)."""
    return os.path.realpath(os.fspath(path))


# Model files beyond this are refused before they are read: the project's networks are a few MB,
# and a large file (or a small zip that would expand to one) would only cost memory.
MAX_MODEL_BYTES = 512 * 2**20


def check_model_file(path: str) -> None:
    """Raises ModelError unless `path` is an existing, non-empty file of at most `MAX_MODEL_BYTES`."""
    if not os.path.exists(path):
        raise ModelError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelError(f"model path is a directory, not a file: {path}")
    size = os.path.getsize(path)
    if size == 0:
        raise ModelError(f"model file is empty: {path}")
    if size > MAX_MODEL_BYTES:
        raise ModelError(
            f"model file is {size / 2**20:.0f} MiB, more than the {MAX_MODEL_BYTES // 2**20} MiB a "
            f"style network may take: {path}"
        )


def make_folder(path: str | os.PathLike, flag: str) -> None:
    """Creates the folder `path` and any missing parents (nothing happens if it exists).

    Args:
        path: The folder.
        flag: What the user called it, for the message (e.g. "--output_dir").

    Raises:
        OutputError: `path` is a file, or it cannot be created.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"{flag} is a file, not a folder: {path}")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {flag} {path}: {error.strerror or first_line(error)}") from None


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None], overwrite: bool = False) -> None:
    """Calls `write(file_object)` on a temporary file beside `path`, then renames it to `path`.

    Raises:
        OutputError: as `check_writable`, or when the write itself fails.
    """
    path = os.fspath(path)
    check_writable(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
        with os.fdopen(descriptor, "wb") as file:
            write(file)
        os.chmod(temporary, 0o644)
        if not overwrite and os.path.exists(path):  # Appeared while we wrote.
            raise OutputError(f"output file exists (pass --overwrite to replace it): {path}")
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {first_line(error)}") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


def write_json(path: str | os.PathLike, record: dict, overwrite: bool = False) -> None:
    """Writes `record` as indented JSON, atomically (see `write_atomically`)."""
    write_atomically(path, lambda file: file.write(json.dumps(record, indent=2).encode()), overwrite=overwrite)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``hashlib`` algorithm name, SHA-256 by default)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
