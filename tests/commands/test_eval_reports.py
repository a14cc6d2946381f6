"""`seg eval` reports through the real CLI: the chosen table, per_image.csv, worst-image panels, the binary
max-F threshold and `seg predict threshold=`."""

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.checkpoint import load_checkpoint, save_checkpoint
from seg_cli.metrics.threshold import checkpoint_threshold
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg

NEW_KEYS = {"mdice", "mf1", "mprecision", "mrecall", "fwiou", "per_class_dice", "per_class_f1",
            "per_class_precision", "per_class_recall", "per_class_pixels"}


def read_rows(run):
    with open(run / "per_image.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def multiclass_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    result = run_seg("train", *FAST_TRAIN, "train.best_metric=fwiou", cwd=root)  # a new best_metric is accepted
    assert result.returncode == 0, result.stderr[-3000:]
    assert NEW_KEYS <= set(read_metrics(run_dirs(root)[-1]))
    return root


@pytest.fixture(scope="module")
def binary_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("binary_reports")
    result = run_seg("train", *FAST_TRAIN, "dataset=synthetic_binary", "dataset.num_classes=1", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_eval_writes_per_image_rows_that_add_up_to_the_summary(multiclass_root):
    result = run_seg("eval", "workers=0", "eval.batch_size=3", "eval.metrics=[iou,dice,fwiou]", "eval.worst=2",
                     cwd=multiclass_root)
    assert result.returncode == 0, result.stderr[-3000:]
    run = run_dirs(multiclass_root, "eval")[-1]
    metrics, rows = read_metrics(run), read_rows(run)
    assert NEW_KEYS <= set(metrics)
    assert [r["image"] for r in rows] == [f"synthetic/val/{i:05d}" for i in range(4)]  # dataset order
    per_class = {name: sum(int(r[f"pixels_{name}"]) for r in rows) for name in metrics["per_class_pixels"]}
    assert per_class == metrics["per_class_pixels"] and sum(per_class.values()) == metrics["pixels"]
    assert all(0 <= float(r["miou"]) <= 1 and 0 <= float(r["pixel_acc"]) <= 1 for r in rows)
    worst = sorted(rows, key=lambda r: (float(r["miou"]), int(r["index"])))
    assert sorted(p.name for p in (run / "worst").iterdir()) == [
        f"rank01_{worst[0]['image'][-5:]}.png", f"rank02_{worst[1]['image'][-5:]}.png"]
    log = (run / "eval.log").read_text() if (run / "eval.log").exists() else result.stdout + result.stderr
    assert "Dice" in log and "fwIoU" in log and "mDice" in log


def test_unknown_eval_metric_is_one_line_naming_the_allowed_values(multiclass_root):
    result = run_seg("eval", "eval.metrics=[iou,kappa]", cwd=multiclass_root)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == ("seg: error: eval.metrics='kappa' is not allowed; choose from: "
                                                      "iou, acc, dice, f1, precision, recall, fwiou")


def test_binary_threshold_is_reported_and_stored_in_the_checkpoint(binary_root):
    trained = read_metrics(run_dirs(binary_root)[-1])
    assert 0 <= trained["best_threshold"] <= 1
    best = load_checkpoint(run_dirs(binary_root)[-1] / "checkpoints" / "best.pt")
    assert checkpoint_threshold(best) == trained["best_threshold"]  # one epoch: best.pt is that evaluation
    result = run_seg("eval", "workers=0", "eval.worst=1", cwd=binary_root)
    assert result.returncode == 0, result.stderr[-3000:]
    run = run_dirs(binary_root, "eval")[-1]
    metrics, rows = read_metrics(run), read_rows(run)
    assert 0 <= metrics["best_threshold"] <= 1 and len(rows) == metrics["images"] == 4
    assert {"mae", "f_at_05", "dice", "iou_fg", "pixels_background", "pixels_foreground"} <= set(rows[0])
    assert sum(float(r["mae"]) for r in rows) / 4 == pytest.approx(metrics["mae"], abs=1e-5)
    worst = max(rows, key=lambda r: float(r["mae"]))
    assert [p.name for p in (run / "worst").iterdir()] == [f"rank01_{worst['image'][-5:]}.png"]


@pytest.mark.slow
def test_predict_threshold_auto_takes_the_checkpoints(binary_root, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 44, 3), dtype=np.uint8)).save(photo)
    best = run_dirs(binary_root)[-1] / "checkpoints" / "best.pt"
    first = run_seg("predict", str(photo), f"ckpt={best}", "threshold=0.5", "save=prob", f"out={tmp_path / 'a'}",
                    cwd=binary_root)
    assert first.returncode == 0, first.stderr[-3000:]
    prob8 = np.asarray(Image.open(tmp_path / "a" / "photo_prob.png"))
    # halfway between two 8-bit levels, so prob >= threshold is exactly prob8 > median
    median = int(np.median(prob8))
    state = load_checkpoint(best)
    state["progress"]["last_metrics"].update(best_threshold=(median + 0.5) / 255, sod_normalize="none")
    crafted = tmp_path / "crafted.pt"
    save_checkpoint(state, crafted)
    second = run_seg("predict", str(photo), f"ckpt={crafted}", "save=[prob,mask]", f"out={tmp_path / 'b'}",
                     cwd=binary_root)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"prob >= {(median + 0.5) / 255:.4f} (the checkpoint's max-F threshold" in second.stdout + second.stderr
    mask = np.asarray(Image.open(tmp_path / "b" / "photo.png"))
    assert np.array_equal(mask, np.where(prob8 > median, 255, 0)) and 0 < (mask > 0).mean() < 1
    bad = run_seg("predict", str(photo), f"ckpt={crafted}", "threshold=2", cwd=binary_root)
    assert bad.returncode == 1 and "threshold=2 is not allowed; use auto or a number in [0, 1]" in bad.stderr


@pytest.mark.slow
def test_torchrun_eval_gathers_every_rows_to_rank_0(multiclass_root):
    single = read_rows(run_dirs(multiclass_root, "eval")[0]) if run_dirs(multiclass_root, "eval") else None
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "seg_cli",
               "eval", "workers=0", "eval.batch_size=3"]
    result = subprocess.run(command, cwd=multiclass_root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_rows(run_dirs(multiclass_root, "eval")[-1])
    metrics = read_metrics(run_dirs(multiclass_root, "eval")[-1])
    assert [int(r["index"]) for r in rows] == list(range(4))
    assert sum(int(r[f"pixels_{n}"]) for r in rows for n in metrics["per_class_pixels"]) == metrics["pixels"]
    if single is not None:
        assert [r["image"] for r in rows] == [r["image"] for r in single]
        assert [float(r["miou"]) for r in rows] == pytest.approx([float(r["miou"]) for r in single], abs=1e-5)


def test_binary_masks_follow_the_threshold(tmp_path):
    from seg_cli.predict.run import save_outputs

    prob = np.array([[0.1, 0.29], [0.31, 0.8]])
    logits = torch.logit(torch.from_numpy(prob))[None, None].float()
    save_outputs(tmp_path / "x", Image.new("RGB", (2, 2)), logits, "binary", ["mask"], 0.5, threshold=0.3)
    assert np.asarray(Image.open(tmp_path / "x.png")).tolist() == [[0, 0], [255, 255]]


def test_stored_threshold_reads_the_checkpoint_through_checkpoint_threshold(tmp_path):
    from seg_cli.predict.predictor import mask_threshold, stored_threshold

    path = tmp_path / "best.pt"
    save_checkpoint({"model": {}, "progress": {"last_metrics": {"best_threshold": 0.25, "sod_normalize": "none"}}},
                    path)
    assert stored_threshold("torch", None, str(path)) == 0.25
    assert mask_threshold(None, "torch", None, str(path)) == 0.25 and mask_threshold(0.6, "torch", None, str(path)) == 0.6
    save_checkpoint({"model": {}, "progress": {"last_metrics": {"miou": 0.5}}}, path)
    assert mask_threshold(None, "torch", None, str(path)) == 0.5


@pytest.mark.slow
def test_eval_per_image_csv_names_the_image_file(seg, tmp_path):
    from tests.data.fixtures import write_folder

    root = write_folder(tmp_path / "mine")
    tiny = ["model=unet", "model.base_channels=4", "model.depth=2", "train.epochs=1", "train.batch_size=2",
            "train.workers=0", "train.progress=false", "dataset.base_size=32", "dataset.crop_size=32"]
    assert seg.run("train", "dataset=folder", f"dataset.root={root}", *tiny).returncode == 0
    assert seg.run("eval", "workers=0").returncode == 0
    rows = read_rows(run_dirs(tmp_path, "eval")[-1])
    assert rows and all(r["image"].startswith(str(root / "images")) and r["image"].endswith(".jpg") for r in rows)
    assert all(r["mask"] == str(root / "masks" / (r["image"].rsplit("/", 1)[-1][:-4] + ".png")) for r in rows)
