"""What this machine computes fast: the precision that ``precision="auto"`` picks.

bfloat16 mixed precision pays only where the hardware multiplies bfloat16
matrices natively. On a CPU that means Intel AMX (``amx_bf16``), where oneDNN's
AMX kernels made a VGG16 step several times faster than float32; with AVX-512
BF16 alone bfloat16 was slower than float32, so "auto" keeps float32 there
(docs/benchmarks.md). GPUs are not measured yet: "auto" keeps float32 on them.
"""

from __future__ import annotations

import os

_CPUINFO = "/proc/cpuinfo"
# What a network may compute in: "auto" is resolved by `resolve_precision`.
PRECISIONS = ("auto", "float32", "bfloat16")


def cpu_flags(cpuinfo_path: str = _CPUINFO) -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (``avx512f``, ``amx_bf16``, ...).

    Empty where there is no ``/proc/cpuinfo`` (macOS, Windows) or it cannot be read.
    """
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def fast_bfloat16() -> bool:
    """Whether bfloat16 mixed precision is the faster choice for the feature extractor here.

    True on a machine without a visible GPU whose CPU has AMX for bfloat16 and
    whose TensorFlow uses oneDNN (not turned off by ``TF_ENABLE_ONEDNN_OPTS=0``).
    """
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() in ("0", "false"):
        return False
    import tensorflow as tf  # Here, so that "float32" and "bfloat16" need no TensorFlow (Keras's JAX backend).

    if tf.config.list_physical_devices("GPU"):
        return False
    return "amx_bf16" in cpu_flags()


def resolve_precision(precision: str) -> str:
    """ "auto" -> "bfloat16" where `fast_bfloat16`, else "float32"; any other value as given."""
    if precision == "auto":
        return "bfloat16" if fast_bfloat16() else "float32"
    return precision
