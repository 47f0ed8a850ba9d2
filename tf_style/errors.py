"""Errors a user can fix. Their messages are one line, fit to print as they are."""


class StyleTransferError(Exception):
    """Base class: bad input, a bad setting, or weights that cannot be had."""


class ImageError(StyleTransferError):
    """An image file is missing, unreadable, too large or of a kind we cannot use."""


class ConfigError(StyleTransferError, ValueError):
    """A setting is out of range, unknown, or contradicts another one."""


class WeightsError(StyleTransferError):
    """Pretrained backbone weights cannot be found, downloaded or verified."""


class OutputError(StyleTransferError):
    """An output path cannot be written, or would overwrite a file without permission."""


class ModelError(StyleTransferError):
    """A model file is missing, corrupt, of the wrong kind, or converts badly."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception's message fit to quote in one of these errors' lines.

    Its first line only (TensorFlow's messages go on for pages), at most `limit`
    characters; the exception's type's name when it has no message.
    """
    lines = str(getattr(error, "message", None) or error).strip().splitlines()
    return " ".join(lines[0].split())[:limit] if lines else type(error).__name__
