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
from tf_style.networks.layers import ConditionalInstanceNormalization

from conftest import REPOSITORY, make_painting, make_photo

SETTINGS = {
    "width": 0.125,
    "num_residual_blocks": 1,
    "stem_stride": 2,
    "output_kernel_size": 3,
    "upsampling": "bilinear",
    "num_styles": 2,
}


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
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "scripts", "package_multi_style.py"),
         f"--weights={tmp_path / 'run.weights.h5'}", f"--paintings_dir={paintings}",
         f"--sample_image={parity / '0.png'}", f"--parity_images={parity}", f"--output_root={output_root}",
         "--latency_sizes=32"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
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
