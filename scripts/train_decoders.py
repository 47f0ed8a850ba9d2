"""Trains the decoders of universal style transfer, one level per run, on photos alone.

    python scripts/train_decoders.py --levels=4,3,2,1 --train_dir=../shared/train/bsds500/train \
        --output_dir=runs/universal

With --unpooling they are the photorealistic decoders (`--photorealistic`). With
--encoder_width below 1 each level's run also trains a small encoder of that width
distilled from the VGG (`tf_style.training.distillation`) and the decoder decodes it:
the fast universal model (`--fast`), usually one level:

    python scripts/train_decoders.py --levels=3 --encoder_width=0.25 --width=0.5 --num_steps=3000 \
        --crop_size=192 --batch_size=8 --output_dir=runs/universal_fast

Each level trains in <output_dir>/relu<k>_1 (checkpoints, TensorBoard logs; a
stopped run resumes where it stopped) and ends as <output_dir>/relu<k>_1/decoder.keras
(and encoder.keras when distilled).
`scripts/package_universal.py` then ships them in saved_models/universal/.
"""

from __future__ import annotations

import os
import sys
import time

from absl import app, flags

_LEVELS = flags.DEFINE_list("levels", ["4", "3", "2", "1"], "Levels to train (relu<k>_1), in this order.")
_TRAIN_DIR = flags.DEFINE_string("train_dir", "../shared/train/bsds500/train", "Folder of training photos.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "runs/universal", "One sub-folder per level goes here.")
_WIDTH = flags.DEFINE_float("width", 0.5, "Multiplier on the decoders' hidden filters.")
_NUM_STEPS = flags.DEFINE_list(
    "num_steps", ["8000", "5000", "2000", "1000"], "Steps per level: one number, or one per level."
)
_CROP_SIZE = flags.DEFINE_integer("crop_size", 128, "Side of the training crops.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 4, "Photos per step.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 1e-3, "Adam's step size.")
_PIXEL_WEIGHT = flags.DEFINE_float("pixel_weight", 10.0, "Weight of the mean squared pixel error.")
_FEATURE_WEIGHT = flags.DEFINE_float("feature_weight", 1.0, "Weight of the normalised feature errors.")
_PRECISION = flags.DEFINE_enum("precision", "auto", ["auto", "float32", "bfloat16"], "What the networks compute in.")
_UNPOOLING = flags.DEFINE_boolean(
    "unpooling", False, "Trains the photorealistic decoders (unpooling to the encoder's maxima)."
)
_ENCODER_WIDTH = flags.DEFINE_float(
    "encoder_width", 1.0, "Below 1: also train a small encoder this wide, distilled from the VGG (the fast model)."
)
_SEED = flags.DEFINE_integer("seed", 0, "Seeds the decoders' weights and the photo stream.")


def main(argv):
    del argv
    from tf_style.networks.saving import float32_copy, save_keras_model
    from tf_style.training.data import list_training_images
    from tf_style.training.decoders import DecoderTrainConfig, DecoderTraining
    from tf_style.training.distillation import DistillationConfig, EncoderDistillation

    photos = list_training_images(_TRAIN_DIR.value)
    levels = [int(level) for level in _LEVELS.value]
    steps = [int(value) for value in _NUM_STEPS.value]
    if len(steps) not in (1, len(levels)):
        sys.exit("train_decoders: --num_steps takes one number or one per level")
    steps = steps * len(levels) if len(steps) == 1 else steps
    for level, num_steps in zip(levels, steps):
        schedule = dict(
            level=level,
            num_steps=num_steps,
            crop_size=_CROP_SIZE.value,
            batch_size=_BATCH_SIZE.value,
            learning_rate=_LEARNING_RATE.value,
            precision=_PRECISION.value,
            pixel_weight=_PIXEL_WEIGHT.value,
            feature_weight=_FEATURE_WEIGHT.value,
            seed=_SEED.value,
        )
        run_dir = os.path.join(_OUTPUT_DIR.value, f"relu{level}_1")
        if _ENCODER_WIDTH.value < 1.0:
            if _UNPOOLING.value:
                sys.exit("train_decoders: --unpooling with a distilled encoder is not supported")
            config = DistillationConfig(encoder_width=_ENCODER_WIDTH.value, decoder_width=_WIDTH.value, **schedule)
            training = EncoderDistillation(photos, config, run_dir)
        else:
            config = DecoderTrainConfig(width=_WIDTH.value, unpooling=_UNPOOLING.value, **schedule)
            training = DecoderTraining(photos, config, run_dir)
        began = time.perf_counter()
        for progress in training.run():
            if progress.step % 50 == 0 or progress.step == progress.num_steps:
                losses = " ".join(f"{name} {value:.4f}" for name, value in progress.losses.items())
                print(
                    f"relu{level}_1 step {progress.step}/{progress.num_steps} {losses} "
                    f"{progress.images_per_second:.1f} img/s {time.perf_counter() - began:.0f} s",
                    flush=True,
                )
        save_keras_model(float32_copy(training.decoder), os.path.join(run_dir, "decoder.keras"), overwrite=True)
        if _ENCODER_WIDTH.value < 1.0:
            save_keras_model(float32_copy(training.encoder), os.path.join(run_dir, "encoder.keras"), overwrite=True)
        print(f"relu{level}_1: {os.path.join(run_dir, 'decoder.keras')} in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    app.run(main)
