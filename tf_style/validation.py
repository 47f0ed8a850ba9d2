"""Checks that config dataclasses run on their fields; each failure is one `ConfigError` line."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tf_style.errors import ConfigError


def check_choice(name: str, value, choices: Sequence[str]) -> None:
    """Raises ConfigError unless `value` is one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def check_finite(name: str, value, allow_zero: bool) -> None:
    """Raises ConfigError unless `value` is a finite number > 0 (or >= 0 with `allow_zero`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be {bound}, got {value!r}")


def check_whole(name: str, value, low: int) -> None:
    """Raises ConfigError unless `value` is an int (not a bool) >= `low`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")


def check_layer_weights(name: str, weights, layers) -> None:
    """Raises ConfigError unless `weights` is None or one positive number per layer."""
    if weights is None:
        return
    if len(weights) != len(layers):
        raise ConfigError(f"{name} has {len(weights)} values for {len(layers)} layers")
    for weight in weights:
        check_finite(name, weight, allow_zero=False)
