"""The precision "auto" picks: CPU flags, oneDNN switch, GPUs."""

import pytest
import tensorflow as tf

from tf_style import hardware


def test_cpu_flags_are_read_from_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
        "bugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
    )
    assert hardware.cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "amx_bf16", "amx_tile"}


def test_cpu_flags_are_empty_without_cpuinfo(tmp_path):
    assert hardware.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.fixture
def cpu_without_gpu(monkeypatch):
    """Sets the CPU flags `fast_bfloat16` sees; no GPU, oneDNN on."""
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])

    def set_flags(*flags):
        monkeypatch.setattr(hardware, "cpu_flags", lambda *args: frozenset(flags))

    return set_flags


def test_auto_is_bfloat16_with_amx_and_float32_with_avx512_bf16_alone(cpu_without_gpu):
    cpu_without_gpu("avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
    assert hardware.fast_bfloat16()
    assert hardware.resolve_precision("auto") == "bfloat16"
    cpu_without_gpu("avx512f", "avx512_bf16")
    assert not hardware.fast_bfloat16()
    assert hardware.resolve_precision("auto") == "float32"


def test_explicit_precisions_are_kept(cpu_without_gpu):
    cpu_without_gpu("avx512f")
    assert hardware.resolve_precision("bfloat16") == "bfloat16"
    cpu_without_gpu("amx_bf16")
    assert hardware.resolve_precision("float32") == "float32"


def test_auto_is_float32_with_onednn_off_or_a_gpu(cpu_without_gpu, monkeypatch):
    cpu_without_gpu("amx_bf16")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert hardware.resolve_precision("auto") == "float32"
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["a GPU"])
    assert hardware.resolve_precision("auto") == "float32"
