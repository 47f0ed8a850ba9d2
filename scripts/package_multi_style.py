"""Packages a multi-style network trained by scripts/train_on_jax.py, and each of its styles baked alone.

    python scripts/package_multi_style.py --weights=runs/multi.weights.h5 \\
        --paintings_dir=../shared/images/style --sample_image=../shared/images/content/kodim04.png \\
        --parity_images=../shared/images/content --machine="the 2-core AMD EPYC development CPU"

Reads the network's settings and its paintings from the training log beside the
weights (``<name>.log.json``). Or, instead of --weights, --network repackages a
network packaged before, reading what its ``model_card.json`` says of its
training, and --fine_tuned_styles replaces styles' rows with networks that
``tf-style train --init_model=<style> --trainable=norms`` fine-tuned (their
training reports beside them say how):

    python scripts/package_multi_style.py --network=/tmp/multi_style/multi_style.keras \
        --fine_tuned_styles=udnie=runs/udnie/udnie.keras --paintings_dir=../shared/images/style ...

Writes, under --output_root:

* ``multi_style/``: ``multi_style.keras`` (a `TransformNet` that knows its style
  names), ``multi_style_fp16.tflite`` and ``multi_style_int8.tflite`` taking
  ``image`` and ``style_weights``, a sample (the photo in every style), and the
  model card listing the styles in the order of the style weights;
* one folder per style, ``<style>/``: the network with that style baked in
  (`TransformNet.single_style`: exactly the multi-style network's picture, with
  the image as the only input, so ``tf-style apply --model=<style>`` runs it as
  any one-style network), its TFLite files, the painting's thumbnail, a sample
  and a model card.

Every .tflite file passes the parity check of
tf_style.export.parity.convert_and_check (for the multi-style files, in every
style) or nothing of that folder is written.
"""

from __future__ import annotations

import json
import os
import platform
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_WEIGHTS = flags.DEFINE_string("weights", None, "The .weights.h5 that scripts/train_on_jax.py wrote.")
_NETWORK = flags.DEFINE_string(
    "network", None, "Instead of --weights: a packaged multi-style .keras, its model_card.json beside it."
)
_FINE_TUNED_STYLES = flags.DEFINE_list(
    "fine_tuned_styles",
    [],
    "style=path.keras pairs: one-style networks `tf-style train --trainable=norms` fine-tuned from that style; "
    "each becomes the style's row.",
)
_STYLES_TRAINED_ON = flags.DEFINE_string(
    "styles_trained_on", "the 2-core development CPU", "Where --fine_tuned_styles trained, for the model cards."
)
_NAME = flags.DEFINE_string("name", "multi_style", "The multi-style network's name.")
_PAINTINGS_DIR = flags.DEFINE_string("paintings_dir", None, "Folder of the paintings named in the training log.")
_SAMPLE_IMAGE = flags.DEFINE_string("sample_image", None, "A photo not used in training, for the samples.")
_PARITY_IMAGES = flags.DEFINE_string("parity_images", None, "Folder of photos not used in training: parity.")
_NUM_PARITY_IMAGES = flags.DEFINE_integer("num_parity_images", 6, "Photos to use from --parity_images.")
_LATENCY_SIZES = flags.DEFINE_list("latency_sizes", ["512", "1024"], "Square sizes to time each file at.")
_OUTPUT_ROOT = flags.DEFINE_string("output_root", "saved_models", "Folder that holds the shipped networks.")
_MACHINE = flags.DEFINE_string(
    "machine", "the 2-core development CPU", "Where the latency is measured, for the model cards."
)
_TRAINED_ON = flags.DEFINE_string("trained_on", "one NVIDIA H200 GPU", "Where the training ran, for the model cards.")
_FINE_TUNED = flags.DEFINE_string(
    "fine_tuned", None, "How the run the weights come from started (its --init_weights run), for the model cards."
)

# The public-domain paintings of ../shared/images/style: file -> (style name, title).
PAINTINGS = {
    "hokusai_great_wave.jpg": ("great_wave", "The Great Wave off Kanagawa (Katsushika Hokusai, c. 1831)"),
    "kandinsky_composition_vii.jpg": ("composition_vii", "Composition VII (Wassily Kandinsky, 1913)"),
    "munch_the_scream.jpg": ("the_scream", "The Scream (Edvard Munch, 1893)"),
    "picabia_udnie.jpg": ("udnie", "Udnie (Francis Picabia, 1913)"),
    "turner_shipwreck_of_the_minotaur.jpg": (
        "shipwreck",
        "The Shipwreck of the Minotaur (J. M. W. Turner, c. 1810)",
    ),
    "vangogh_starry_night.jpg": ("starry_night", "The Starry Night (Vincent van Gogh, 1889)"),
}

_TRAINING_DATA_TERMS = (
    "BSDS500 (Berkeley Segmentation Data Set) photos: licensed for non-commercial research "
    "and educational use only. Models trained on them inherit that restriction: use them for research, "
    "teaching and personal experiments, not in commercial products."
)


def _training_summary(log: dict) -> dict:
    """What the model cards say of the training run, from the log of scripts/train_on_jax.py."""
    last = log["history"][-1] if log["history"] else {}
    return {
        "command": "scripts/train_on_jax.py",
        "trained_on": _TRAINED_ON.value,
        "fine_tuned_from": _FINE_TUNED.value,
        "settings": log["settings"],
        "loss": log["loss"],
        "style_images": log["style_images"],
        "style_size": log["style_size"],
        "crop_sizes": log["crop_sizes"],
        "batch_size": log["batch_size"],
        "learning_rate": log["learning_rate"],
        "train_photos": log["train_photos"],
        "steps": log["steps"],
        # A run stopped from outside (a machine's time limit) last saved at its last history entry.
        "seconds": log.get("seconds") or last.get("seconds"),
        "final_losses": {key: value for key, value in last.items() if key not in ("step", "seconds")},
    }


def _style_names(style_images: list[str]) -> list[str]:
    """The style names of the paintings a network was trained on (ConfigError for a painting not in PAINTINGS)."""
    from tf_style.errors import ConfigError

    unknown = [painting for painting in style_images if painting not in PAINTINGS]
    if unknown:
        raise ConfigError(f"no style name for {', '.join(unknown)}: add them to PAINTINGS")
    return [PAINTINGS[painting][0] for painting in style_images]


def _fine_tuning_summary(path: str) -> dict:
    """What the model cards say of a style's fine-tuning, from the `tf-style train` report beside `path`."""
    from tf_style.errors import ConfigError

    with open(path[: -len(".keras")] + ".json") as file:
        report = json.load(file)
    config = report["config"]
    if config.get("trainable") != "norms":
        raise ConfigError(f"{path} was not trained with --trainable=norms: only its normalisations can become a row")
    keys = ("backbone", "content_layers", "style_layers", "content_weight", "style_weight", "tv_weight",
            "color_weight", "layout_weight", "style_scale", "crop_size", "batch_size", "learning_rate",
            "seed")  # fmt: skip
    return {
        "command": "tf-style train --trainable=norms",
        "trained_on": _STYLES_TRAINED_ON.value,
        "init_model_sha256": report.get("init_model_sha256"),
        "style_image": os.path.basename(report["style_image"]),
        "train_photos": report["num_train_images"],
        "steps": report["steps"],
        "seconds": report["session_seconds"],
        "config": {key: config[key] for key in keys if key in config},
        "final_losses": report["final_losses"],
    }


def _fine_tuning_row(styles: dict) -> tuple[str, str]:
    """The model card's row for the styles whose normalisations were fine-tuned alone afterwards."""
    runs = []
    for name, run in styles.items():
        config = run["config"]
        runs.append(
            f"`{name}`: {run['steps']} Adam steps, learning rate {config['learning_rate']}, batch "
            f"{config['batch_size']} of {config['crop_size']}-px crops of {run['train_photos']} photos; content "
            f"{', '.join(config['content_layers'])}, style weight {config['style_weight']}, colour weight "
            f"{config.get('color_weight', 0)}, "
            + (f"layout weight {config['layout_weight']}, " if config.get("layout_weight") else "")
            + f"painting at {round(config['style_scale'] * config['crop_size'])} px; "
            f"{run['seconds']:.0f} s on {run['trained_on']}"
        )
    return (
        "Fine-tuned styles",
        "then only these styles' normalisations (scales and offsets) trained, every other weight frozen "
        "(`tf-style train --init_model=<style> --trainable=norms`): " + "; ".join(runs),
    )


def _files_table(name: str, keras_bytes: int, reports: dict) -> list[str]:
    sizes = " / ".join(f"{size}²" for size in _LATENCY_SIZES.value)
    lines = [
        f"| file | size | parity against Keras (worst photo) | latency {sizes}, 2 threads |",
        "| --- | --- | --- | --- |",
        f"| `{name}.keras` | {keras_bytes / 1024:.0f} KiB | reference | — |",
    ]
    for suffix, report in reports.items():
        parity = report["parity"]
        latency = " / ".join(f"{value:.0f}" for value in report["latency_ms"].values())
        lines.append(
            f"| `{name}_{suffix}.tflite` | {report['bytes'] / 1024:.0f} KiB | PSNR {parity['min_psnr_db']:.1f} dB, "
            f"max diff {parity['max_abs_diff']:.3f} ({parity['num_images']} photos) | {latency} ms |"
        )
    return lines


def _training_rows(training: dict, parameters: int) -> list[tuple[str, str]]:
    settings, loss = training["settings"], training["loss"]
    return [
        (
            "Network",
            f"transform net, width {settings['width']}, {settings['num_residual_blocks']} residual blocks, stem "
            f"stride {settings['stem_stride']}, {settings['upsampling']} upsampling, conditional instance "
            f"normalisation over {settings['num_styles']} styles; {parameters:,} parameters",
        ),
        ("Training data", f"{training['train_photos']} photos. {_TRAINING_DATA_TERMS}"),
        (
            "Loss network",
            f"`{loss['backbone']}`, {loss['pooling']} pooling; content {', '.join(loss['content_layers'])}; "
            f"style {', '.join(loss['style_layers'])}",
        ),
        (
            "Weights",
            f"content {loss['content_weight']}, style {loss['style_weight']}, TV {loss['tv_weight']}; paintings "
            f"at {training['style_size']} px",
        ),
        (
            "Schedule",
            f"{training['steps']} Adam steps (optax), learning rate {training['learning_rate']}, batch "
            f"{training['batch_size']} of random crops of {', '.join(map(str, training['crop_sizes']))} px at three "
            f"scales, mirrored at random; each photo in a style drawn at random"
            + (f"; fine-tuned from {training['fine_tuned_from']}" if training["fine_tuned_from"] else ""),
        ),
        ("Trained on", f"{training['trained_on']}, {training['seconds'] or 0:.0f} s, Keras's JAX backend"),
    ]


def _markdown(title: str, intro: str, rows: list, files: list[str], usage: str, interface: str) -> str:
    lines = [f"# {title}", "", intro, "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    lines += ["", "## Files", "", *files, "", interface, ""]
    lines += [
        f"Latency: the LiteRT interpreter (XNNPACK) on {_MACHINE.value} ({platform.machine()}), median of 10 runs.",
        "",
        "```bash",
        usage,
        "```",
        "",
    ]
    return "\n".join(lines)


def _write_text(path: str, text: str) -> None:
    from tf_style.io.files import write_atomically

    write_atomically(path, lambda file: file.write(text.encode()), overwrite=True)


def _write_bytes(path: str, content: bytes) -> None:
    from tf_style.io.files import write_atomically

    write_atomically(path, lambda file: file.write(content), overwrite=True)


def package_main(argv: list[str]) -> int:
    import numpy as np

    from tf_style import gallery
    from tf_style.cli.common import check_no_arguments
    from tf_style.errors import ConfigError
    from tf_style.export.parity import convert_and_check
    from tf_style.io import images
    from tf_style.io.files import make_folder, write_json
    from tf_style.networks.johnson.transform_net import TransformNet
    from tf_style.networks.saving import load_keras_model, save_keras_model
    from tf_style.networks.signatures import STYLE_WEIGHTS_NAME, multi_style_signature

    check_no_arguments(argv)
    for flag in (_PAINTINGS_DIR, _SAMPLE_IMAGE, _PARITY_IMAGES):
        if not flag.value:
            raise ConfigError(f"--{flag.name} is required")
    if bool(_WEIGHTS.value) == bool(_NETWORK.value):
        raise ConfigError("give one of --weights (a training run's) or --network (a packaged network)")
    if _WEIGHTS.value:
        with open(_WEIGHTS.value[: -len(".weights.h5")] + ".log.json") as file:
            training = _training_summary(json.load(file))
        names = _style_names(training["style_images"])
        network = TransformNet(**training["settings"], name=_NAME.value, style_names=names)
        network.load_weights(_WEIGHTS.value)
        fine_tuned = {}
    else:
        with open(os.path.join(os.path.dirname(_NETWORK.value), "model_card.json")) as file:
            earlier = json.load(file)
        training = earlier["training"]
        names = _style_names(training["style_images"])
        network = load_keras_model(_NETWORK.value)
        if list(network.style_names or []) != names:
            raise ConfigError(f"{_NETWORK.value} paints {network.style_names}, its model card says {names}")
        fine_tuned = dict(earlier.get("fine_tuned_styles") or {})
    style_images = training["style_images"]
    for entry in _FINE_TUNED_STYLES.value:
        name, _, path = entry.partition("=")
        if name not in names or not path.endswith(".keras"):
            raise ConfigError(f"--fine_tuned_styles takes style=path.keras with a style of {', '.join(names)}")
        fine_tuned[name] = _fine_tuning_summary(path)
        network = network.with_style(name, load_keras_model(path))
    parameters = network.count_params()

    photo_paths = sorted(
        os.path.join(_PARITY_IMAGES.value, entry)
        for entry in os.listdir(_PARITY_IMAGES.value)
        if os.path.splitext(entry)[1].lower() in images.IMAGE_EXTENSIONS
    )[: _NUM_PARITY_IMAGES.value]
    photos = [images.load_image(path, max_size=384) for path in photo_paths]
    sample = images.load_image(_SAMPLE_IMAGE.value, max_size=512)
    one_hot = np.eye(len(names), dtype=np.float32)
    latency_sizes = [int(size) for size in _LATENCY_SIZES.value]

    # The multi-style network: parity in every style.
    folder = os.path.join(_OUTPUT_ROOT.value, _NAME.value)
    make_folder(folder, "--output_root's network folder")
    signature = multi_style_signature(len(names))
    reports = {}
    for suffix, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
        per_style = []
        for index in range(len(names)):
            flatbuffer, report = convert_and_check(
                network,
                quantization,
                photos,
                latency_sizes=latency_sizes,
                signature=signature,
                inputs={STYLE_WEIGHTS_NAME: one_hot[index : index + 1]},
            )
            per_style.append(report)
        worst = min(per_style, key=lambda report: report["parity"]["min_psnr_db"])
        reports[suffix] = {**worst, "parity_per_style": {n: r["parity"] for n, r in zip(names, per_style)}}
        _write_bytes(os.path.join(folder, f"{_NAME.value}_{suffix}.tflite"), flatbuffer)
    keras_path = os.path.join(folder, f"{_NAME.value}.keras")
    save_keras_model(network, keras_path, overwrite=True)
    pictures = [
        np.asarray(network({"image": sample[None], "style_weights": one_hot[[k]]}))[0] for k in range(len(names))
    ]
    strip = gallery.contact_sheet([[sample, *pictures]], cell_height=192, column_labels=["photo", *names])
    images.save_image(strip, os.path.join(folder, "sample.jpg"), overwrite=True, quality=85)
    card = {
        "name": _NAME.value,
        "title": f"{len(names)} paintings in one network",
        "styles": names,
        "paintings": {name: PAINTINGS[painting][1] for name, painting in zip(names, style_images)},
        "parameters": parameters,
        "sample_photo": os.path.basename(_SAMPLE_IMAGE.value),
        "parity_photos": [os.path.basename(path) for path in photo_paths],
        "training": training,
        "fine_tuned_styles": fine_tuned,
        "tflite": reports,
        "training_data_terms": _TRAINING_DATA_TERMS,
    }
    write_json(os.path.join(folder, "model_card.json"), card, overwrite=True)
    style_list = ", ".join(f"`{name}` ({card['paintings'][name]})" for name in names)
    _write_text(
        os.path.join(folder, "MODEL_CARD.md"),
        _markdown(
            f"{_NAME.value}: {card['title']}",
            "One fast network for several paintings (conditional instance normalisation, Dumoulin et al. 2017): "
            f"a style by name, or a blend of styles by weight. Styles, in the order of the style weights: "
            f"{style_list}.",
            [
                ("Paintings", "public domain"),
                *_training_rows(training, parameters),
                *([_fine_tuning_row(fine_tuned)] if fine_tuned else []),
            ],
            _files_table(_NAME.value, os.path.getsize(keras_path), reports),
            f"tf-style apply --model={_NAME.value} --style_weights={names[0]}:0.5,{names[-1]}:0.5 "
            "--content_image=photo.jpg --output_image=out.png",
            f"The files take `image`, float32 (1, H, W, 3) RGB in [0, 1], any H and W of at least 8, and "
            f"`style_weights`, float32 (1, {len(names)}), non-negative and summing to 1 (one-hot for one style), "
            "and return `stylized_image` of the image's shape through the `stylize` signature. Parity is "
            "checked in every style; the table gives the worst.",
        ),
    )
    print(f"packaged {_NAME.value} in {folder}", flush=True)

    # Each style baked alone.
    for index, (name, painting_file) in enumerate(zip(names, style_images)):
        single = network.single_style(one_hot[index], name=name)
        folder = os.path.join(_OUTPUT_ROOT.value, name)
        make_folder(folder, "--output_root's style folder")
        style_reports = {}
        for suffix, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
            flatbuffer, style_reports[suffix] = convert_and_check(
                single, quantization, photos, latency_sizes=latency_sizes
            )
            _write_bytes(os.path.join(folder, f"{name}_{suffix}.tflite"), flatbuffer)
        keras_path = os.path.join(folder, f"{name}.keras")
        save_keras_model(single, keras_path, overwrite=True)
        painting = images.load_image(os.path.join(_PAINTINGS_DIR.value, painting_file), max_size=256)
        images.save_image(painting, os.path.join(folder, "painting.jpg"), overwrite=True, quality=85)
        images.save_image(pictures[index], os.path.join(folder, "sample.jpg"), overwrite=True, quality=85)
        title = PAINTINGS[painting_file][1]
        style_card = {
            "name": name,
            "title": title,
            "painted_by": _NAME.value,
            "style_index": index,
            "parameters": single.count_params(),
            "sample_photo": os.path.basename(_SAMPLE_IMAGE.value),
            "parity_photos": card["parity_photos"],
            "training": {**training, "style_image": f"../shared/images/style/{painting_file}"},
            "fine_tuned": fine_tuned.get(name),
            "tflite": style_reports,
            "training_data_terms": _TRAINING_DATA_TERMS,
        }
        write_json(os.path.join(folder, "model_card.json"), style_card, overwrite=True)
        _write_text(
            os.path.join(folder, "MODEL_CARD.md"),
            _markdown(
                f"{name}: {title}",
                f"Style {index} of the multi-style network `{_NAME.value}`, baked into a one-style network "
                "(each conditional normalisation replaced by this style's scale and shift): it paints exactly "
                f"what `--model={_NAME.value} --style={name}` paints, with the image as its only input.",
                [
                    ("Painting", f"{title} — public domain"),
                    *_training_rows(training, parameters),
                    *([_fine_tuning_row({name: fine_tuned[name]})] if name in fine_tuned else []),
                ],
                _files_table(name, os.path.getsize(keras_path), style_reports),
                f"tf-style apply --model={name} --content_image=photo.jpg --output_image=out.png",
                "`_int8` holds int8 weights with dynamic-range quantisation (activations quantised on the fly), "
                "the fastest of the int8 modes on CPUs with XNNPACK. All files take `image`, float32 (1, H, W, 3) "
                "RGB in [0, 1], any H and W of at least 8, and return `stylized_image` of the same shape through "
                "the `stylize` signature.",
            ),
        )
        print(f"packaged {name} in {folder}", flush=True)
    return 0


def main(argv: list[str]) -> None:
    from tf_style.cli.common import exit_with_status

    exit_with_status("package_multi_style.py", package_main, argv, "interrupted")


if __name__ == "__main__":
    from tf_style.cli.common import quiet_tensorflow_startup, run_command

    quiet_tensorflow_startup(sys.argv)
    run_command("package_multi_style.py", sys.modules[__name__], main, sys.argv)
