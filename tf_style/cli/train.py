"""`tf-style train`: train a fast (feed-forward) style network for one painting (model optimisation).

Into --output_dir (created with its parents if missing) it writes `checkpoints/` (resumable),
`logs/` (TensorBoard: losses, throughput, a stylised sample photo), `train_config.json` (the
settings, checked on resume) and, at the end, `<style_name>.keras` (the trained network) with
`<style_name>.json` (settings, versions, steps, time, final losses). Ctrl-C stops after the current
step and saves a checkpoint (a second Ctrl-C stops at once); running the same command again resumes
exactly where it stopped, and changing a setting other than the step counts is refused.
--init_model fine-tunes a trained network (a shipped style's name or a .keras file) instead of
starting from random weights; with --trainable=norms only its normalisations' scales and offsets
learn (a new painting on top of multi_style). --devices trains on several devices with MirroredStrategy.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import warnings

from absl import flags

from tf_style.cli.common import check_no_arguments, exit_with_status, run_command, say, versions
from tf_style.cli.loss_flags import define_loss_flags, loss_config_fields
from tf_style.errors import ConfigError, OutputError
from tf_style.inference.registry import resolve_model_path
from tf_style.io.files import file_digest, make_folder, plan_outputs, write_json
from tf_style.networks.johnson.transform_net import MODEL_SIZES
from tf_style.training.config import TRAINABLE, TrainConfig

_DEFAULTS = TrainConfig()
_LOSS_FLAGS = define_loss_flags(_DEFAULTS, __name__)

_STYLE_IMAGE = flags.DEFINE_string("style_image", None, "The painting whose style the network learns.")
_TRAIN_IMAGES = flags.DEFINE_string(
    "train_images", None, "Folder of training photos (searched recursively; unreadable files skipped)."
)
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None, "Folder for checkpoints, logs and the trained model (created if missing)."
)
_STYLE_NAME = flags.DEFINE_string(
    "style_name", None, "Name of the trained model file (default: the painting's file name)."
)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a trained model already in --output_dir.")
_MODEL_SIZE = flags.DEFINE_enum(
    "model_size",
    _DEFAULTS.model_size,
    list(MODEL_SIZES),
    "mobile: ~100 k parameters, fast on phones; classic: Johnson et al., 1.7 M.",
)
_STYLE_SCALE = flags.DEFINE_float(
    "style_scale", _DEFAULTS.style_scale, "Painting's longer side relative to --crop_size (larger: finer strokes)."
)
_CROP_SIZE = flags.DEFINE_integer(
    "crop_size", _DEFAULTS.crop_size, "Side of the square training crops.", lower_bound=32
)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Photos per step (all devices).", lower_bound=1)
_NUM_STEPS = flags.DEFINE_integer("num_steps", _DEFAULTS.num_steps, "Training steps.", lower_bound=1)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "Adam's step size.")
_SEED = flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seeds the initial network and the photo stream.")
_INIT_MODEL = flags.DEFINE_string(
    "init_model",
    None,
    "Fine-tune this trained network instead of starting from random weights: a "
    ".keras file or a shipped style's name (for example starry_night); multi_style "
    "starts from the even blend of its styles. It must be a --model_size network.",
)
_TRAINABLE = flags.DEFINE_enum(
    "trainable",
    _DEFAULTS.trainable,
    list(TRAINABLE),
    "all: train every weight; norms: only the normalisations' scales and offsets of --init_model, "
    "its convolutions frozen (a new painting on top of multi_style, Dumoulin et al.).",
)
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    "checkpoint_every", _DEFAULTS.checkpoint_every, "Steps between checkpoints.", lower_bound=1
)
_LOG_EVERY = flags.DEFINE_integer("log_every", _DEFAULTS.log_every, "Steps between TensorBoard scalars.", lower_bound=1)
_SAMPLE_EVERY = flags.DEFINE_integer(
    "sample_every", _DEFAULTS.sample_every, "Steps between TensorBoard sample images.", lower_bound=1
)
_DEVICES = flags.DEFINE_list(
    "devices", None, "Train on these devices with MirroredStrategy, e.g. GPU:0,GPU:1 (default: one device)."
)
_MULTI_WORKER = flags.DEFINE_bool(
    "multi_worker",
    False,
    "Train across machines with MultiWorkerMirroredStrategy, as the TF_CONFIG environment variable "
    "describes (the cluster and this worker's task). Every worker runs the same command with the same "
    "--output_dir (a shared folder); the chief writes checkpoints, logs and the model.",
)

# Settings that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = ("num_steps", "checkpoint_every", "log_every", "sample_every")
# What else a resumed run must find again, with the words for it: the photo stream and the targets
# follow from them.
_IDENTITY = {"style_image_sha256": "painting (--style_image)", "train_images_digest": "photo folder (--train_images)"}


def config_from_flags() -> TrainConfig:
    """The `TrainConfig` the flags describe (validated)."""
    return TrainConfig(
        **loss_config_fields(_LOSS_FLAGS),
        model_size=_MODEL_SIZE.value,
        style_scale=_STYLE_SCALE.value,
        crop_size=_CROP_SIZE.value,
        batch_size=_BATCH_SIZE.value,
        num_steps=_NUM_STEPS.value,
        learning_rate=_LEARNING_RATE.value,
        seed=_SEED.value,
        init_model=resolve_model_path(_INIT_MODEL.value, "keras") if _INIT_MODEL.value else None,
        trainable=_TRAINABLE.value,
        checkpoint_every=_CHECKPOINT_EVERY.value,
        log_every=_LOG_EVERY.value,
        sample_every=_SAMPLE_EVERY.value,
    )


def check_resumable(config_path: str, record: dict) -> None:
    """Raises ConfigError when `config_path` records a run with other settings, painting or photos.

    Args:
        config_path: The run's ``train_config.json``.
        record: What this run would record there: the config's fields and the
            `_IDENTITY` keys (the painting's SHA-256, the photo list's digest).
    """
    if not os.path.exists(config_path):
        return
    try:
        with open(config_path) as file:
            recorded = json.load(file)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {config_path} ({type(error).__name__}); use a new --output_dir") from None
    if not isinstance(recorded, dict):
        raise ConfigError(f"{config_path} is not a run's settings; use a new --output_dir")
    changed = sorted(
        key
        for key in set(recorded) | set(record)
        if key not in _RESUMABLE_CHANGES
        and not (key in _IDENTITY and key not in recorded)  # Runs of earlier versions did not record these.
        and recorded.get(key) != record.get(key)
    )
    if changed:
        what = ", ".join(_IDENTITY.get(key, key) for key in changed)
        raise ConfigError(
            f"--output_dir holds a run with another {what}; use a new --output_dir, or the same painting, "
            "photos and flags to resume"
        )


def make_strategy(devices: list[str] | None, multi_worker: bool = False):
    """MultiWorkerMirroredStrategy from TF_CONFIG, MirroredStrategy over `devices`, or None (the default)."""
    if multi_worker:
        if devices:
            raise ConfigError("--devices and --multi_worker do not go together: TF_CONFIG names the workers")
        check_tf_config(os.environ.get("TF_CONFIG"))
        import tensorflow as tf

        return tf.distribute.MultiWorkerMirroredStrategy()
    if not devices:
        return None
    import tensorflow as tf

    available = {device.name.replace("/physical_device:", "") for device in tf.config.list_physical_devices()}
    missing = [device for device in devices if device not in available]
    if missing:
        raise ConfigError(
            f"--devices: not found: {', '.join(missing)}; this machine has {', '.join(sorted(available))}"
        )
    return tf.distribute.MirroredStrategy(devices)


def check_tf_config(text: str | None) -> dict:
    """The parsed TF_CONFIG of a multi-worker run; ConfigError, in one line, for a missing or malformed one."""
    example = '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
    if not text:
        raise ConfigError(f"--multi_worker needs the TF_CONFIG environment variable, like {example}")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, index = task["type"], task["index"]
        members = cluster[task_type]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"TF_CONFIG must be JSON like {example}") from None
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise ConfigError(f"TF_CONFIG: task {task_type} {index} is not in the cluster's {task_type} list")
    return config


def train_main(argv: list[str]) -> int:
    """Runs the command; returns the exit status. Raises StyleTransferError for bad input."""
    check_no_arguments(argv)
    for flag, holder in (("style_image", _STYLE_IMAGE), ("train_images", _TRAIN_IMAGES), ("output_dir", _OUTPUT_DIR)):
        if not holder.value:
            raise ConfigError(f"--{flag} is required")
    from tqdm import tqdm

    from tf_style.io import images
    from tf_style.networks.saving import save_keras_model
    from tf_style.training.data import list_training_images, photo_list_digest
    from tf_style.training.fast_style import FastStyleTraining

    config = config_from_flags()
    strategy = make_strategy(_DEVICES.value, _MULTI_WORKER.value)
    output_dir = _OUTPUT_DIR.value
    style_name = _STYLE_NAME.value or os.path.splitext(os.path.basename(_STYLE_IMAGE.value))[0]
    model_path = os.path.join(output_dir, f"{style_name}.keras")
    manifest_path = os.path.join(output_dir, f"{style_name}.json")
    config_path = os.path.join(output_dir, "train_config.json")

    # The painting at the size training uses it (memory follows --crop_size, not the file).
    style_image = images.load_image(_STYLE_IMAGE.value, max_size=max(64, round(config.style_scale * config.crop_size)))
    with warnings.catch_warnings(record=True) as skipped:
        warnings.simplefilter("always")
        image_paths = list_training_images(_TRAIN_IMAGES.value)
    for warning in skipped:
        print(f"tf-style train: warning: {warning.message}", file=sys.stderr)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise OutputError(f"--output_dir is a file, not a folder: {output_dir}")
    finished = [path for path in (model_path, manifest_path) if os.path.exists(path)]
    if finished and not _OVERWRITE.value:
        raise OutputError(
            f"{finished[0]} exists: this run has finished; to train it further, pass a larger --num_steps "
            "with --overwrite; to train again, use a new --output_dir"
        )
    record = {
        **config.to_dict(),
        "style_image_sha256": file_digest(_STYLE_IMAGE.value),
        "train_images_digest": photo_list_digest(image_paths, _TRAIN_IMAGES.value),
    }
    check_resumable(config_path, record)
    # The file may change later (a fine-tuned style replacing its starting point): record what was read.
    init_model_sha256 = None
    if config.init_model and os.path.isfile(config.init_model):
        init_model_sha256 = file_digest(config.init_model)
    # Builds the networks and checks the layers before anything is written.
    training = FastStyleTraining(style_image, image_paths, config, output_dir, strategy=strategy)
    start_step = training.resumed_step
    if finished and start_step >= config.num_steps:
        raise ConfigError(
            f"the run in {output_dir} is at step {start_step} already, nothing to train up to --num_steps="
            f"{config.num_steps}; pass a larger --num_steps to train it further"
        )
    if training.is_chief:  # In a multi-worker run the other workers write nothing here.
        make_folder(output_dir, "--output_dir")  # With its parents: runs/painting works in a fresh folder.
        plan_outputs([model_path, manifest_path, config_path], overwrite=True)
        if not os.path.exists(config_path):
            write_json(config_path, record, overwrite=False)
    if start_step:
        print(f"tf-style train: resuming from step {start_step} in {output_dir}", file=sys.stderr)
    began = time.perf_counter()
    bar = tqdm(
        total=config.num_steps,
        initial=start_step,
        unit="step",
        file=sys.stderr,
        dynamic_ncols=True,
        desc=f"train {style_name}",
    )
    progress = None
    # Ctrl-C asks to stop after the current step, so no TensorFlow call is cut in the middle;
    # a second Ctrl-C interrupts at once. Either way a checkpoint is saved.
    stop_requested = []

    def request_stop(signum, frame):
        stop_requested.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous_handler = signal.signal(signal.SIGINT, request_stop)
    steps = training.run()
    try:
        for progress in steps:
            bar.set_postfix(
                {
                    **{
                        key.removesuffix("_loss"): f"{value:.4g}"
                        for key, value in progress.losses.items()
                        if "/" not in key
                    },
                    "img/s": f"{progress.images_per_second:.2f}",
                },
                refresh=False,
            )
            bar.update(1)
            if stop_requested:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        steps.close()
        bar.close()
        prefix = training.save_checkpoint()
        print(
            f"tf-style train: interrupted at step {training.resumed_step}; checkpoint {prefix} saved; "
            "run the same command to resume",
            file=sys.stderr,
        )
        return 130
    except FloatingPointError as error:
        bar.close()
        latest = training.latest_checkpoint
        kept = (
            f"the last checkpoint, {latest}, is kept"
            if latest
            else f"no checkpoint was saved before it (the first comes at step {config.checkpoint_every})"
        )
        print(f"tf-style train: error: {error}; {kept} (try a smaller --learning_rate)", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        training.close()
    bar.close()
    if not training.is_chief:
        say(f"worker finished {training.resumed_step} steps; the chief writes the model")
        return 0

    save_keras_model(training.transform_net, model_path, overwrite=True)
    record = {
        "command": "train",
        "model": model_path,
        "style_image": _STYLE_IMAGE.value,
        "train_images": _TRAIN_IMAGES.value,
        "num_train_images": len(image_paths),
        "config": config.to_dict(),
        "weights_sha256": training.loss_extractor.weights_sha256,
        "init_model_sha256": init_model_sha256,
        "parameters": training.transform_net.count_params(),
        "devices": training.strategy.num_replicas_in_sync,
        "resumed_from_step": start_step,
        "steps": training.resumed_step,
        "session_seconds": round(time.perf_counter() - began, 1),
        "final_losses": progress.losses if progress else None,
        "versions": versions(),
    }
    write_json(manifest_path, record, overwrite=True)
    say(f"wrote {model_path} ({record['parameters']:,} parameters, {training.resumed_step} steps) and {manifest_path}")
    return 0


def main(argv: list[str]) -> None:
    exit_with_status("tf-style train", train_main, argv, "interrupted while starting; nothing written")


def run(argv: list[str]) -> None:
    """Parses flags from `argv` (argv[0] is the program name) and runs."""
    run_command("tf-style train", sys.modules[__name__], main, argv)
