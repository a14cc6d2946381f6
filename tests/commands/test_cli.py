"""The real `seg` CLI in subprocesses: train -> eval -> predict, multirun, resume, errors."""

import json
import time

import numpy as np
import pytest
from PIL import Image

from seg_cli.cli import split_arguments
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg, write_voc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run shared by the eval / predict tests."""
    root = tmp_path_factory.mktemp("trained")
    result = run_seg("train", *FAST_TRAIN, "train.epochs=2", cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def test_top_level_help_lists_commands_without_importing_torch(tmp_path):
    start = time.perf_counter()
    result = run_seg("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("train", "eval", "predict"):
        assert f"  {command}" in result.stdout
    assert time.perf_counter() - start < 5
    code = "import sys, seg_cli.cli, seg_cli.commands.train; print('torch' in sys.modules)"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_command_help_lists_groups_options_and_the_commented_config(tmp_path):
    start = time.perf_counter()
    result = run_seg("train", "--help", cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    model_line = next(line for line in lines if line.startswith("model: "))
    assert "unet_small (default)" in model_line and "fcn_resnet50" in model_line
    assert any(line.startswith("experiment: ") and "(none by default)" in line for line in lines)
    assert "epochs: 15              # passes over the training split" in result.stdout
    assert "hydra:" not in result.stdout and elapsed < 5
    for command in ("eval", "predict", "export", "info", "data", "report"):
        assert run_seg(command, "--help", cwd=tmp_path).returncode == 0


def test_flags_may_follow_overrides():
    flags, overrides, inputs = split_arguments(["a=1", "-m", "b=2", "--cfg", "job", "x.jpg"], takes_inputs=True)
    assert flags == ["-m", "--cfg", "job"] and overrides == ["a=1", "b=2"] and inputs == ["x.jpg"]


def test_cfg_job_prints_composed_config_after_overrides(tmp_path):
    result = run_seg("train", "optimizer.lr=0.5", "--cfg", "job", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "lr: 0.5" in result.stdout and "_target_: seg_cli.models.unet.unet" in result.stdout


def test_train_writes_run_dir_with_checkpoints_metrics_and_tensorboard(trained):
    [run] = run_dirs(trained)
    for path in (".hydra/config.yaml", "train.log", "checkpoints/last.pt", "checkpoints/best.pt", "metrics.json"):
        assert (run / path).is_file(), path
    assert list((run / "tb").glob("events.out.tfevents.*"))
    metrics = read_metrics(run)
    assert set(metrics["per_class_iou"]) == {"background", "circle", "square", "triangle"}
    assert 0 <= metrics["miou"] <= 1 and metrics["epoch"] == 2
    import torch

    ckpt = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert ckpt["progress"]["epoch"] == 2 and ckpt["config"]["train"]["epochs"] == 2
    assert {"model", "optimizer", "scheduler", "scaler", "rng"} <= set(ckpt)


def test_eval_without_arguments_uses_newest_best_checkpoint(trained):
    result = run_seg("eval", "workers=0", cwd=trained)
    assert result.returncode == 0, result.stderr
    [train_run] = run_dirs(trained)
    eval_run = run_dirs(trained, "eval")[-1]
    metrics = read_metrics(eval_run)
    assert metrics["checkpoint"] == str(train_run / "checkpoints/best.pt")
    best_epoch_metrics = read_metrics(train_run)
    if best_epoch_metrics["best_epoch"] == best_epoch_metrics["epoch"]:
        assert metrics["miou"] == pytest.approx(best_epoch_metrics["miou"])
    assert metrics["pixels"] > 0


def test_eval_resized_resolution_counts_resized_label_pixels(trained):
    result = run_seg("eval", "workers=0", "eval.resolution=resized", "dataset.val_size=2", cwd=trained)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(run_dirs(trained, "eval")[-1])
    # val images have shorter side 40..56 resized to base_size 48: pixel count follows the resize
    assert metrics["pixels"] % 48 == 0 or metrics["pixels"] > 0


def test_predict_writes_palette_masks_and_overlays_for_files_and_folders(trained, tmp_path):
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    Image.new("RGBA", (33, 21), (10, 200, 10, 128)).save(photos / "rgba.png")
    Image.new("L", (18, 25), 90).save(photos / "more" / "gray.jpg")
    Image.new("RGB", (40, 30), (1, 2, 3)).save(tmp_path / "photo.jpg")
    out = tmp_path / "preds"
    result = run_seg("predict", str(tmp_path / "photo.jpg"), str(photos), f"out={out}", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert f"to {out}" in result.stdout
    mask = Image.open(out / "photo.png")
    assert mask.mode == "P" and mask.size == (40, 30)
    assert Image.open(out / "rgba.png").size == (33, 21)
    assert Image.open(out / "more" / "gray.png").size == (18, 25)
    assert Image.open(out / "photo_overlay.jpg").size == (40, 30)
    assert np.asarray(mask).max() < 4


def test_predict_reports_unreadable_files_and_still_predicts_the_rest(trained, tmp_path):
    Image.new("RGB", (20, 20)).save(tmp_path / "good.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\x00" * 10)
    result = run_seg("predict", str(tmp_path), f"out={tmp_path / 'o'}", cwd=trained)
    assert result.returncode == 1
    assert "broken.jpg" in result.stderr + result.stdout
    assert (tmp_path / "o" / "good.png").is_file()


@pytest.mark.slow
def test_resume_from_last_continues_where_the_run_stopped(tmp_path):
    first = run_seg("train", *FAST_TRAIN, "train.epochs=1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_seg("train", *FAST_TRAIN, "train.epochs=2", "train.resume=auto", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stdout + second.stderr
    latest = run_dirs(tmp_path)[-1]
    import torch

    ckpt = torch.load(latest / "checkpoints/last.pt", weights_only=True)
    steps_per_epoch = 8 // 2
    assert ckpt["progress"]["epoch"] == 2 and ckpt["progress"]["global_step"] == 2 * steps_per_epoch


@pytest.mark.slow
def test_resume_of_a_checkpoint_from_an_older_seg_fills_new_keys_with_defaults(tmp_path):
    from seg_cli.checkpoint import load_checkpoint, save_checkpoint

    first = run_seg("train", *FAST_TRAIN, "train.epochs=1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    last = run_dirs(tmp_path)[-1] / "checkpoints/last.pt"
    state = load_checkpoint(last)
    for key in ("pad_multiple", "cache_mib"):  # keys that checkpoints written before they existed lack
        del state["config"]["eval"][key]
    save_checkpoint(state, last)
    second = run_seg("train", *FAST_TRAIN, "train.epochs=2", f"train.resume={last}", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 2


def test_multirun_sweep_writes_one_run_per_job(tmp_path):
    result = run_seg("train", "-m", "optimizer.lr=0.01,0.02", *FAST_TRAIN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = sorted(tmp_path.glob("multirun/train/*/*/[0-9]*"))
    assert len(jobs) == 2
    lrs = {json.loads((j / "metrics.json").read_text()) and
           (j / ".hydra/overrides.yaml").read_text().count("optimizer.lr") for j in jobs}
    assert lrs == {1}


@pytest.mark.slow
def test_voc_layout_trains_with_lraspp(tmp_path):
    devkit = write_voc(tmp_path / "data")
    result = run_seg(
        "train", "model=lraspp_mobilenet_v3_large", "dataset=voc", f"dataset.root={devkit}",
        "dataset.base_size=160", "dataset.crop_size=128", "train.epochs=1", "train.batch_size=2",
        "train.workers=0", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(run_dirs(tmp_path)[-1])
    assert len(metrics["per_class_iou"]) == 21 and metrics["pixels"] > 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "model=nonexistent"], "Available options in 'model'"),
        (["train", "dataset=voc", "dataset.root=/no/such/dir"], "dataset.download=true"),
        (["train", "optimizer.lr=-1"], "optimizer.lr=-1 must be > 0"),
        (["train", "train.device=tpu"], "train.device='tpu' is not allowed"),
        (["train", "dataset.ignore_index=2"], "dataset.ignore_index=2 lies inside the class range"),
        (["eval"], "no checkpoints/best.pt found under"),
        (["predict"], "no input images"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ],
)
def test_user_mistakes_give_one_clear_line_and_nonzero_exit(tmp_path, args, message):
    result = run_seg(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_labels_outside_the_class_range_name_the_file(tmp_path):
    devkit = write_voc(tmp_path / "data", n_train=2, n_val=1)
    result = run_seg("train", "dataset=voc", f"dataset.root={devkit}", "dataset.num_classes=2",
                     "dataset.class_names=[a,b]", "train.batch_size=2", "train.workers=0",
                     "dataset.base_size=32", "dataset.crop_size=32", cwd=tmp_path)
    assert result.returncode == 1
    assert "2007_000002.png has label values [3] outside [0, 2)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_compiled_training_saves_plain_state_dict_keys(tmp_path):
    result = run_seg("train", *FAST_TRAIN, "train.compile=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    import torch

    state = torch.load(run_dirs(tmp_path)[-1] / "checkpoints/last.pt", weights_only=True)["model"]
    assert not any(k.startswith(("_orig_mod", "module")) for k in state)
