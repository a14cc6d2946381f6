"""Issue 24 "done when": alpha matting through the real CLI on tiny fixtures in each dataset's layout — train the
preset, evaluate every matting metric (whole image and trimap), predict soft alpha, cut-outs and composites."""

import csv
import re

import numpy as np
import pytest
from PIL import Image

from seg_cli.metrics.matting import METRIC_KEYS
from tests.data import matting_fixtures
from tests.data.fixtures import write_hk
from tests.helpers import read_metrics, run_dirs

TINY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
        "dataset.base_size=40", "dataset.crop_size=32"]
MATTING_KEYS = {*METRIC_KEYS, "iou", "f"}


def ok(result) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_the_hk_preset_trains_evaluates_and_predicts_soft_alpha(seg, tmp_path):
    root = write_hk(tmp_path / "HK")
    ok(seg.run("train", "experiment=hk_matting_unet_mobilenet_v2", f"dataset.root={root}",
               "model.pretrained_backbone=false", *TINY))
    trained = read_metrics(run_dirs(tmp_path)[-1])
    assert MATTING_KEYS <= set(trained) and trained["best_metric"] == "sad"
    ok(seg.run("eval", "workers=0", "eval.worst=1"))
    run = run_dirs(tmp_path, "eval")[-1]
    metrics = read_metrics(run)
    assert MATTING_KEYS <= set(metrics) and metrics["images"] == 2
    assert all(np.isfinite(metrics[key]) for key in METRIC_KEYS)
    rows = list(csv.DictReader(open(run / "per_image.csv")))
    assert len(rows) == 2 and float(rows[0]["sad"]) > 0
    assert np.mean([float(r["sad"]) for r in rows]) == pytest.approx(metrics["sad"], rel=1e-5)
    [panel] = (run / "worst").glob("rank01_*.png")
    assert Image.open(panel).size == (4 * 30 + 3 * 2, 40)  # image | truth | prediction | error at 30x40
    Image.new("RGB", (37, 29), (90, 120, 30)).save(tmp_path / "a.jpg")
    ok(seg.run("predict", str(tmp_path / "a.jpg"), f"out={tmp_path / 'out'}", "predict.background=white"))
    alpha = np.asarray(Image.open(tmp_path / "out" / "a_alpha.png"))
    assert alpha.shape == (29, 37) and ((alpha > 0) & (alpha < 255)).any()
    cutout = Image.open(tmp_path / "out" / "a_cutout.png")
    assert cutout.mode == "RGBA" and np.array_equal(np.asarray(cutout)[..., 3], alpha)
    assert Image.open(tmp_path / "out" / "a_composite.jpg").size == (37, 29)
    ok(seg.run("predict", str(tmp_path / "a.jpg"), f"out={tmp_path / 'out16'}", "save=alpha",
               "predict.alpha_bits=16"))
    deep = np.asarray(Image.open(tmp_path / "out16" / "a_alpha.png")).astype(np.int64)
    assert np.abs(deep / 65535 - alpha / 255).max() <= 0.5 / 255 + 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("option", ["p3m10k", "am2k", "aisegment", "folder"])
def test_each_matting_layout_trains_and_scores_its_trimaps(seg, option, tmp_path):
    writers = {"p3m10k": matting_fixtures.write_p3m10k, "am2k": matting_fixtures.write_am2k,
               "aisegment": matting_fixtures.write_aisegment, "folder": matting_fixtures.write_matting_folder}
    root = writers[option](tmp_path / option)
    task = ["dataset.task=matting", "dataset.val_fraction=0.3"] if option == "folder" else []
    ok(seg.run("train", f"dataset={option}", f"dataset.root={root}", "model=unet_small", *task, *TINY))
    metrics = read_metrics(run_dirs(tmp_path)[-1])
    assert MATTING_KEYS <= set(metrics) and metrics["sad_trimap"] > 0
    if option == "p3m10k":  # a benchmark without a train split: evaluated with that checkpoint
        ppm = matting_fixtures.write_ppm100(tmp_path / "ppm")
        ok(seg.run("eval", "workers=0", "dataset=ppm100", f"dataset.root={ppm}"))
        assert read_metrics(run_dirs(tmp_path, "eval")[-1])["images"] == 3


@pytest.mark.slow
def test_a_binary_checkpoint_of_the_same_model_starts_a_matting_run(seg, tmp_path):
    root = write_hk(tmp_path / "HK")
    ok(seg.run("train", "dataset=hk", f"dataset.root={root}", "model=unet_small", *TINY))
    binary = run_dirs(tmp_path)[-1] / "checkpoints" / "best.pt"
    result = seg.run("train", "dataset=hk", "dataset.task=matting", f"dataset.root={root}", "model=unet_small",
                     f"model.weights={binary}", *TINY)
    ok(result)
    log = (run_dirs(tmp_path)[-1] / "train.log").read_text()
    assert re.search(r"loaded \d+ tensors from .*best.pt; 0 skipped, 0 left at initialisation", log)
    assert read_metrics(run_dirs(tmp_path)[-1])["best_metric"] == "sad"
