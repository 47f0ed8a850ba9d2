"""scripts/package_multi_style.py on a tiny network and a log in scripts/train_on_jax.py's format."""

import json
import os
import subprocess
import sys

import numpy as np

from tf_style.inference import apply, registry
from tf_style.io import images
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import TransformNet
from tf_style.networks.layers import ConditionalInstanceNormalization, InstanceNormalization

from conftest import REPOSITORY, make_painting, make_photo

SETTINGS = {
    "width": 0.125,
    "num_residual_blocks": 1,
    "stem_stride": 2,
    "output_kernel_size": 3,
    "upsampling": "bilinear",
    "num_styles": 2,
}


def _package(*flags):
    return subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "scripts", "package_multi_style.py"), *flags, "--latency_sizes=32"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip


def test_packages_the_network_and_each_style_baked(tmp_path, monkeypatch):
    net = TransformNet(**SETTINGS, seed=0)
    rng = np.random.default_rng(0)
    for layer in net.layers:
        if isinstance(layer, ConditionalInstanceNormalization):
            gamma, beta = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0.0, 0.5, beta.shape)])
    net.save_weights(str(tmp_path / "run.weights.h5"))
    log = {
        "settings": SETTINGS,
        "loss": {"backbone": "vgg16_hed", "pooling": "avg", "content_layers": ["block3_conv3"],
                 "style_layers": ["block1_conv1"], "content_weight": 1.0, "style_weight": 2.0, "tv_weight": 10.0},
        "style_images": ["munch_the_scream.jpg", "vangogh_starry_night.jpg"],
        "style_size": 512, "crop_sizes": [192], "batch_size": 16, "learning_rate": 0.001, "train_photos": 3,
        "history": [{"step": 100, "seconds": 12.5, "total_loss": 1.0}], "steps": 120,
    }  # fmt: skip
    (tmp_path / "run.log.json").write_text(json.dumps(log))
    paintings, parity = tmp_path / "paintings", tmp_path / "parity"
    paintings.mkdir()
    parity.mkdir()
    for name in log["style_images"]:
        images.save_image(make_painting(40, 30), str(paintings / name))
    for index in range(2):
        images.save_image(make_photo(24, 32, seed=index), str(parity / f"{index}.png"))
    output_root = tmp_path / "saved_models"
    common = [f"--paintings_dir={paintings}", f"--sample_image={parity / '0.png'}", f"--parity_images={parity}"]
    completed = _package(f"--weights={tmp_path / 'run.weights.h5'}", f"--output_root={output_root}", *common)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert sorted(os.listdir(output_root)) == ["multi_style", "starry_night", "the_scream"]
    card = json.loads((output_root / "multi_style" / "model_card.json").read_text())
    assert card["styles"] == ["the_scream", "starry_night"] and card["training"]["seconds"] == 12.5
    assert set(card["tflite"]["int8"]["parity_per_style"]) == {"the_scream", "starry_night"}
    assert (
        "--style_weights=the_scream:0.5,starry_night:0.5" in (output_root / "multi_style" / "MODEL_CARD.md").read_text()
    )
    photo = make_photo(20, 28, seed=5)
    expected = np.asarray(net({"image": photo[None], "style_weights": np.array([[0, 1]], np.float32)}))[0]
    baked = saving.load_keras_model(str(output_root / "starry_night" / "starry_night.keras"))
    np.testing.assert_allclose(np.asarray(baked(photo[None]))[0], expected, atol=1e-5)
    style_card = json.loads((output_root / "starry_night" / "model_card.json").read_text())
    assert style_card["painted_by"] == "multi_style" and style_card["style_index"] == 1
    assert style_card["training"]["style_image"].endswith("vangogh_starry_night.jpg")
    # The packaged network runs as a user runs it: by name of a style, from the shipped folder.
    monkeypatch.setattr(registry, "saved_models_dir", lambda: str(output_root))
    assert registry.shipped_styles() == ["starry_night", "the_scream"]
    paint = apply.load_style_model("multi_style", num_threads=1, variant="fp16", style="starry_night")
    np.testing.assert_allclose(paint(photo), expected, atol=5e-3)

    # Repackaged from the packaged network, with the_scream's row fine-tuned (only its normalisations
    # changed, as `tf-style train --trainable=norms` leaves a network, and its report beside it).
    tuned = saving.load_keras_model(str(output_root / "the_scream" / "the_scream.keras"))
    for layer in tuned.layers:
        if isinstance(layer, InstanceNormalization):
            gamma, beta = layer.get_weights()
            layer.set_weights([gamma * 1.3, beta - 0.2])
    tuned_path = str(tmp_path / "tuned" / "scream.keras")
    os.makedirs(os.path.dirname(tuned_path))
    tuned.save(tuned_path)
    report = {
        "style_image": "/x/munch_the_scream.jpg", "num_train_images": 200, "steps": 600, "session_seconds": 431.5,
        "init_model_sha256": "ab", "final_losses": {"total_loss": 2.3},
        "config": {"trainable": "norms", "backbone": "vgg16_hed", "content_layers": ["block2_conv2"],
                   "style_weight": 8.0, "color_weight": 4.0, "layout_weight": 2.0, "style_scale": 2.67,
                   "crop_size": 192, "batch_size": 4, "learning_rate": 0.01},
    }  # fmt: skip
    (tmp_path / "tuned" / "scream.json").write_text(json.dumps(report))
    repackaged = tmp_path / "repackaged"
    network = f"--network={output_root / 'multi_style' / 'multi_style.keras'}"
    completed = _package(
        network, f"--fine_tuned_styles=the_scream={tuned_path}", f"--output_root={repackaged}", *common
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    multi = saving.load_keras_model(str(repackaged / "multi_style" / "multi_style.keras"))
    scream = np.asarray(multi({"image": photo[None], "style_weights": np.array([[1, 0]], np.float32)}))[0]
    np.testing.assert_allclose(scream, np.asarray(tuned(photo[None]))[0], atol=1e-5)
    night = np.asarray(multi({"image": photo[None], "style_weights": np.array([[0, 1]], np.float32)}))[0]
    np.testing.assert_allclose(night, expected, atol=1e-5)
    baked = saving.load_keras_model(str(repackaged / "the_scream" / "the_scream.keras"))
    np.testing.assert_allclose(np.asarray(baked(photo[None]))[0], scream, atol=1e-5)
    card = json.loads((repackaged / "multi_style" / "model_card.json").read_text())
    assert card["training"]["seconds"] == 12.5 and set(card["fine_tuned_styles"]) == {"the_scream"}
    assert card["fine_tuned_styles"]["the_scream"]["seconds"] == 431.5
    scream_card = (repackaged / "the_scream" / "MODEL_CARD.md").read_text()
    assert (
        "`the_scream`: 600 Adam steps" in scream_card
        and "colour weight 4.0, layout weight 2.0, painting" in scream_card
    )
    assert "Fine-tuned" not in (repackaged / "starry_night" / "MODEL_CARD.md").read_text()
    # Bad input: one line, no traceback.
    report["config"]["trainable"] = "all"
    (tmp_path / "tuned" / "scream.json").write_text(json.dumps(report))
    for flags, message in (
        ([network, f"--fine_tuned_styles=the_scream={tuned_path}"], "not trained with --trainable=norms"),
        ([network, f"--fine_tuned_styles=monet={tuned_path}"], "style=path.keras with a style of the_scream"),
        ([network, f"--weights={tmp_path / 'run.weights.h5'}"], "give one of --weights"),
    ):
        completed = _package(*flags, f"--output_root={tmp_path / 'refused'}", *common)
        assert completed.returncode != 0 and message in completed.stderr, completed.stderr[-2000:]
        assert "Traceback" not in completed.stderr and not (tmp_path / "refused").exists()
