"""Ships the decoders of a `scripts/train_decoders.py` run as saved_models/universal/.

    python scripts/package_universal.py --run_dir=runs/universal \
        --sample_image=../shared/images/content/kodim04.png \
        --sample_painting=../shared/images/style/vangogh_starry_night.jpg

Writes decoder_relu<k>_1.keras for every level the run trained (float32), and with
--photorealistic_run_dir (a train_decoders.py --unpooling run) its unpooling decoders
as photo_decoder_relu<k>_1.keras (relu1_1, which has no pooling, is shared); the
TFLite style encoder and transfer model (WCT) with float16 and with int8 weights
(style_encoder_<fp16|int8>.tflite, transfer_<fp16|int8>.tflite, and
transfer_photorealistic_<fp16|int8>.tflite with photorealistic decoders), each checked
against the Keras model on --parity_images and the paintings in --paintings_dir;
sample.jpg (the photo, the painting and the picture side by side), model_card.json
and MODEL_CARD.md, into a temporary folder that replaces saved_models/<--name>
only when everything is written.

A run with a distilled encoder (train_decoders.py --encoder_width below 1: its
coarsest level also holds encoder.keras) ships that encoder too, as
encoder_relu<k>_1.keras, and is the fast model:

    python scripts/package_universal.py --name=universal_fast --run_dir=runs/universal_fast ...
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from absl import app, flags

_RUN_DIR = flags.DEFINE_string("run_dir", "runs/universal", "The --output_dir of train_decoders.py.")
_SAMPLE_IMAGE = flags.DEFINE_string("sample_image", None, "A photo not used in training, for sample.jpg.")
_SAMPLE_PAINTING = flags.DEFINE_string("sample_painting", None, "A painting for sample.jpg.")
_SAMPLE_LOOK = flags.DEFINE_string(
    "sample_look", None, "A photo whose look the sample photo takes in sample_photorealistic.jpg (with photo decoders)."
)
_PARITY_IMAGES = flags.DEFINE_string("parity_images", None, "Folder of photos for the TFLite parity checks.")
_PAINTINGS_DIR = flags.DEFINE_string("paintings_dir", None, "Folder of paintings for the TFLite parity checks.")
_PHOTOREALISTIC_RUN_DIR = flags.DEFINE_string(
    "photorealistic_run_dir", None, "The --output_dir of train_decoders.py --unpooling (photorealistic decoders)."
)
_PHOTOREALISTIC_LEVELS = flags.DEFINE_list(
    "photorealistic_levels", None, "Photorealistic levels to ship (default: every level that run trained, and 1)."
)
_LEVELS = flags.DEFINE_list("levels", None, "Levels to ship (default: every level the run trained).")
_MACHINE = flags.DEFINE_string("machine", None, "Where the decoders were trained, for the model card.")
_NAME = flags.DEFINE_string("name", "universal", "The folder under --output_root: universal or universal_fast.")
_OUTPUT_ROOT = flags.DEFINE_string("output_root", "saved_models", "Folder that holds the shipped networks.")

_TRAINING_DATA_TERMS = (
    "BSDS500 (Berkeley Segmentation Data Set) training photos: licensed for non-commercial research "
    "and educational use only. Decoders trained on them inherit that restriction."
)


def _training_record(run_dir: str, level: int) -> dict:
    """Steps, settings and final losses of one level's run, from its checkpoint and TensorBoard logs."""
    import tensorflow as tf

    record = {"level": level, "layer": f"relu{level}_1"}
    checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, f"relu{level}_1", "checkpoints"))
    if checkpoint:
        record["steps"] = int(tf.train.load_variable(checkpoint, "step/.ATTRIBUTES/VARIABLE_VALUE"))
    losses = {}
    for root, _, names in os.walk(os.path.join(run_dir, f"relu{level}_1", "logs")):
        for name in names:
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                for value in event.summary.value:
                    if value.tag.endswith("_loss"):
                        losses[value.tag] = float(tf.make_ndarray(value.tensor))
    record["final_losses"] = {name: round(value, 5) for name, value in sorted(losses.items())}
    return record


def _convert_tflite(model, folder: str, photo_model=None) -> dict:
    """Writes the style encoder and transfer model in fp16 and int8 into `folder`; returns their reports.

    With `photo_model`, its transfer model too (transfer_photorealistic_<variant>.tflite), checked
    with a parity photo's statistics as the look.
    """
    from tf_style.export import universal
    from tf_style.inference.universal import tflite_files
    from tf_style.io.images import load_image

    def load_folder(path, count, size):
        names = sorted(name for name in os.listdir(path) if name.lower().endswith((".png", ".jpg", ".jpeg")))
        return [load_image(os.path.join(path, name), max_size=size) for name in names[:count]]

    photos = load_folder(_PARITY_IMAGES.value, 4, 384)
    paintings = load_folder(_PAINTINGS_DIR.value, 6, 512)
    reports = {}
    for variant, quantization in (("fp16", "float16"), ("int8", "dynamic_int8")):
        encoder_bytes, encoder_report = universal.convert_style_encoder(model, quantization, paintings)
        transfer_bytes, transfer_report = universal.convert_transfer(model, quantization, photos, paintings[0])
        encoder_path, transfer_path = tflite_files(variant, folder)
        for path, content in ((encoder_path, encoder_bytes), (transfer_path, transfer_bytes)):
            with open(path, "wb") as file:
                file.write(content)
        reports[variant] = {"style_encoder": encoder_report, "transfer": transfer_report}
        if photo_model is not None:
            photo_bytes, photo_report = universal.convert_transfer(photo_model, quantization, photos[:-1], photos[-1])
            with open(tflite_files(variant, folder, photorealistic=True)[1], "wb") as file:
                file.write(photo_bytes)
            reports[variant]["transfer_photorealistic"] = photo_report
            print(
                f"{variant}: photorealistic transfer {len(photo_bytes) / 2**20:.1f} MiB, parity "
                f"{photo_report['parity']['min_psnr_db']:.1f} dB, "
                f"512x512 {photo_report['latency_ms']['512x512']:.0f} ms",
                flush=True,
            )
        print(
            f"{variant}: style encoder {len(encoder_bytes) / 2**20:.1f} MiB, "
            f"transfer {len(transfer_bytes) / 2**20:.1f} MiB, "
            f"parity {transfer_report['parity']['min_psnr_db']:.1f} dB, 512x512 "
            f"{transfer_report['latency_ms']['512x512']:.0f} ms",
            flush=True,
        )
    return reports


def _trained_levels(run_dir: str) -> list[int]:
    """The levels with a relu<k>_1/decoder.keras in a train_decoders.py run, coarse to fine (--levels applied)."""
    levels = sorted(
        (
            int(name[len("relu")])
            for name in os.listdir(run_dir)
            if os.path.isfile(os.path.join(run_dir, name, "decoder.keras"))
        ),
        reverse=True,
    )
    return [level for level in levels if not _LEVELS.value or str(level) in _LEVELS.value]


def _load_decoder(run_dir: str, level: int):
    from tf_style.networks.saving import load_keras_model

    return load_keras_model(os.path.join(run_dir, f"relu{level}_1", "decoder.keras"), input_channels=None)


def main(argv):
    del argv
    import numpy as np

    from tf_style.io.images import load_image, resize_image, save_image
    from tf_style.networks.saving import load_keras_model, save_keras_model
    from tf_style.networks.universal.model import UniversalStyleTransfer, distilled_extractor_builder

    run_dir = _RUN_DIR.value
    levels = _trained_levels(run_dir)
    if not levels:
        raise SystemExit(f"package_universal: no relu<k>_1/decoder.keras in {run_dir}")
    decoders = {level: _load_decoder(run_dir, level) for level in levels}
    photo_run_dir = _PHOTOREALISTIC_RUN_DIR.value
    photo_levels = [level for level in _trained_levels(photo_run_dir) if level > 1] if photo_run_dir else []
    if _PHOTOREALISTIC_LEVELS.value:
        photo_levels = [level for level in photo_levels if str(level) in _PHOTOREALISTIC_LEVELS.value]
    if photo_run_dir and not set(photo_levels) <= set(levels):
        raise SystemExit(f"package_universal: {photo_run_dir} has levels the painting decoders lack")
    photo_decoders = {level: _load_decoder(photo_run_dir, level) for level in photo_levels}
    encoder_path = os.path.join(run_dir, f"relu{levels[0]}_1", "encoder.keras")
    encoder = load_keras_model(encoder_path, output_channels=None) if os.path.exists(encoder_path) else None
    if encoder is not None and (photo_decoders or len(levels) > 1):
        raise SystemExit("package_universal: a distilled encoder ships with one level and no photorealistic decoders")
    builder = distilled_extractor_builder(encoder) if encoder is not None else None
    target = os.path.join(_OUTPUT_ROOT.value, _NAME.value)
    staging = tempfile.mkdtemp(prefix=f".{_NAME.value}-", dir=_OUTPUT_ROOT.value)
    try:
        files, parameters = {}, {}  # parameters: by file name.
        for level, decoder in decoders.items():
            files[str(level)] = f"decoder_relu{level}_1.keras"
            save_keras_model(decoder, os.path.join(staging, files[str(level)]))
            parameters[files[str(level)]] = int(decoder.count_params())
        encoder_file = None
        if encoder is not None:
            encoder_file = f"encoder_relu{levels[0]}_1.keras"
            save_keras_model(encoder, os.path.join(staging, encoder_file))
            parameters[encoder_file] = int(encoder.count_params())
        photo_files = {}
        for level in levels:
            if level in photo_decoders:
                photo_files[str(level)] = f"photo_decoder_relu{level}_1.keras"
                save_keras_model(photo_decoders[level], os.path.join(staging, photo_files[str(level)]))
                parameters[photo_files[str(level)]] = int(photo_decoders[level].count_params())
            elif level == 1 and photo_decoders:
                photo_files[str(level)] = files[str(level)]  # No pooling to undo: the same decoder.
        model = UniversalStyleTransfer(decoders, "vgg16_hed", extractor_builder=builder)
        photo = load_image(_SAMPLE_IMAGE.value, max_size=512)
        painting = load_image(_SAMPLE_PAINTING.value, max_size=1024)
        picture = model.transfer(photo, model.style_statistics(painting))
        height = photo.shape[0]
        thumbnail = resize_image(painting, (height, max(1, round(painting.shape[1] * height / painting.shape[0]))))
        save_image(np.concatenate([photo, thumbnail, picture], axis=1), os.path.join(staging, "sample.jpg"), quality=88)
        photo_model = None
        if photo_decoders:
            photo_model = UniversalStyleTransfer(
                {level: decoders[1] if level == 1 else photo_decoders[level] for level in map(int, photo_files)},
                "vgg16_hed",
            )
        if photo_model is not None and _SAMPLE_LOOK.value:
            look = load_image(_SAMPLE_LOOK.value, max_size=512)
            look_picture = photo_model.transfer(photo, photo_model.style_statistics(look))
            look_thumbnail = resize_image(look, (height, max(1, round(look.shape[1] * height / look.shape[0]))))
            save_image(
                np.concatenate([photo, look_thumbnail, look_picture], axis=1),
                os.path.join(staging, "sample_photorealistic.jpg"),
                quality=88,
            )
        conversions = _convert_tflite(model, staging, photo_model)
        card = {
            "name": _NAME.value,
            "kind": "universal style transfer (whitening and colouring transforms, Li et al. 2017)",
            "backbone": "vgg16_hed",
            "encoder_pooling": "max",
            **({"encoder": encoder_file, "encoder_width": builder.width} if encoder is not None else {}),
            "decoders": files,
            **({"photorealistic_decoders": photo_files} if photo_files else {}),
            "alignment": model.alignment,
            **({"photorealistic_alignment": photo_model.alignment} if photo_model else {}),
            "tflite": conversions,
            "parameters": {str(level): int(decoder.count_params()) for level, decoder in decoders.items()},
            "training": {
                "command": "scripts/train_decoders.py",
                "trained_on": _MACHINE.value,
                "levels": [_training_record(run_dir, level) for level in levels],
                "photorealistic_levels": [
                    {**_training_record(photo_run_dir, level), "unpooling": True} for level in photo_levels
                ],
                "data": _TRAINING_DATA_TERMS,
            },
            "sample": {
                "photo": os.path.basename(_SAMPLE_IMAGE.value),
                "painting": os.path.basename(_SAMPLE_PAINTING.value),
                **({"look": os.path.basename(_SAMPLE_LOOK.value)} if _SAMPLE_LOOK.value and photo_decoders else {}),
            },
        }
        with open(os.path.join(staging, "model_card.json"), "w", encoding="utf-8") as file:
            json.dump(card, file, indent=2)
            file.write("\n")
        if encoder is None:
            intro = [
                "# Universal style transfer: decoders for any painting",
                "",
                "Paints a photo like any painting in one pass, with no training for the painting: the photo's "
                "VGG16 features (the offline `vgg16_hed` backbone, max pooling) at "
                f"{', '.join(f'relu{level}_1' for level in levels)} take the "
                "painting's mean and covariance (whitening and colouring, Li et al., NeurIPS 2017), coarse to "
                "fine, and these decoders turn them back into pictures. They were trained only to reconstruct "
                "photos (pixel and feature losses): no painting was used.",
            ]
        else:
            intro = [
                "# Universal style transfer, fast: a distilled encoder and its decoder for any painting",
                "",
                f"Paints a photo like any painting in one pass, with no training for the painting: a VGG16-shaped "
                f"encoder {builder.width:g} times as wide as the VGG, distilled from the offline `vgg16_hed` "
                f"backbone (a 1 x 1 map of its features gives the VGG's back), encodes the photo to "
                f"relu{levels[0]}_1; the features take the painting's mean and covariance (whitening and "
                "colouring, Li et al., NeurIPS 2017) and the decoder turns them back into a picture. Encoder and "
                "decoder were trained together on photos alone (`tf_style.training.distillation`): no painting "
                "was used. It is several times faster than the VGG model and paints a much weaker style: the "
                "painting's palette and fine texture, no strokes (`tf-style apply --fast`).",
            ]
        lines = [
            *intro,
            "",
            "| level | file | parameters | steps | final losses |",
            "| --- | --- | --- | --- | --- |",
        ]
        for record in card["training"]["levels"] + card["training"]["photorealistic_levels"]:
            level = str(record["level"])
            name = (photo_files if record.get("unpooling") else files)[level]
            losses = ", ".join(f"{key} {value}" for key, value in record["final_losses"].items())
            lines.append(
                f"| {record['layer']} | {name} | {parameters[name]:,} | {record.get('steps', '?')} | {losses} |"
            )
        if encoder_file is not None:
            lines.append(
                f"| relu{levels[0]}_1 (encoder) | {encoder_file} | {parameters[encoder_file]:,} | "
                "trained with the decoder | |"
            )
        if photo_files:
            lines += [
                "",
                "The photo_decoder files unpool to the positions of the encoder's maxima instead of upsampling "
                "(PhotoWCT, Li et al., ECCV 2018): with `--photorealistic`, a photo takes another photo's look "
                "and its edges stay where they were; the picture is then smoothed along the photo's edges "
                "(guided filter).",
            ]
        lines += [
            "",
            f"Trained on {_MACHINE.value}. Use: `tf-style apply --style_image=painting.jpg "
            f"--content_image=photo.jpg{' --fast' if encoder is not None else ''}`; the figures are in "
            "docs/benchmarks.md.",
            "",
            f"**Training data.** {_TRAINING_DATA_TERMS}",
            "",
        ]
        with open(os.path.join(staging, "MODEL_CARD.md"), "w", encoding="utf-8") as file:
            file.write("\n".join(lines))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the shipped folders are readable by all.
        for name in os.listdir(staging):
            os.chmod(os.path.join(staging, name), 0o644)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(staging, target)
        print(f"wrote {target}: {', '.join(sorted(os.listdir(target)))}")
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging)


if __name__ == "__main__":
    flags.mark_flags_as_required(["sample_image", "sample_painting", "machine", "parity_images", "paintings_dir"])
    app.run(main)
