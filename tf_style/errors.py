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
