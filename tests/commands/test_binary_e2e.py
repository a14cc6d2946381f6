"""Issue-3 datasets and models through the real CLI: train -> eval -> predict on layout fixtures."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.data.fixtures import write_duts, write_folder, write_hk
from tests.helpers import read_metrics, run_dirs

TINY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
        "dataset.base_size=32", "dataset.crop_size=32"]
BINARY_KEYS = {"mae", "max_f", "mean_f", "dice", "iou_fg"}


def train_eval_predict(seg, tmp_path, *train_args: str) -> dict:
    result = seg.run("train", *train_args, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    trained = read_metrics(run_dirs(tmp_path)[-1])
    assert BINARY_KEYS <= set(trained) and trained["best_metric"] == "max_f"
    evaluated = seg.run("eval", "workers=0")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert BINARY_KEYS <= set(read_metrics(run_dirs(tmp_path, "eval")[-1]))
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    Image.new("RGB", (37, 29), (90, 120, 30)).save(photos / "a.jpg")
    Image.new("L", (20, 24), 100).save(photos / "sub" / "b.png")
    predicted = seg.run("predict", str(photos), f"out={tmp_path / 'cut'}")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    for stem, size in (("a", (37, 29)), ("sub/b", (20, 24))):
        prob = Image.open(tmp_path / "cut" / f"{stem}_prob.png")
        mask = np.asarray(Image.open(tmp_path / "cut" / f"{stem}.png"))
        cutout = Image.open(tmp_path / "cut" / f"{stem}_cutout.png")
        assert prob.mode == "L" and prob.size == size and cutout.mode == "RGBA" and cutout.size == size
        assert set(np.unique(mask)) <= {0, 255}
        assert np.array_equal(np.asarray(cutout)[..., 3], np.asarray(prob))
    return trained


@pytest.mark.slow
def test_duts_with_u2net_lite(seg, tmp_path):
    root = write_duts(tmp_path / "DUTS")
    train_eval_predict(seg, tmp_path, "dataset=duts", f"dataset.root={root}", "model=u2net_lite")


@pytest.mark.slow
def test_hk_with_unet(seg, tmp_path):
    root = write_hk(tmp_path / "HK")
    train_eval_predict(seg, tmp_path, "dataset=hk", f"dataset.root={root}", "model=unet", "model.base_channels=8")


def test_folder_dataset_end_to_end(seg, tmp_path):
    root = write_folder(tmp_path / "mine")
    train_eval_predict(seg, tmp_path, "dataset=folder", f"dataset.root={root}", "dataset.val_fraction=0.3",
                       "model.base_channels=4", "model.depth=2")
    assert json.loads((run_dirs(tmp_path)[-1] / "metrics.json").read_text())["images"] >= 1


def toolbox_scores(maps: list[np.ndarray], truths: list[np.ndarray], beta2: float = 0.3) -> dict:
    """Saliency-toolbox convention, written out independently: each 8-bit map min-max normalised to [0, 1],
    ground truth > 128 of 255, per-image precision / recall at thresholds k/255 averaged over images."""
    precisions, recalls, maes = [], [], []
    for raw, truth in zip(maps, truths):
        pred = raw.astype(np.float64) / 255
        if pred.max() > pred.min():
            pred = (pred - pred.min()) / (pred.max() - pred.min())
        gt = truth > 128
        maes.append(np.abs(pred - gt).mean())
        p_row, r_row = [], []
        for k in [*range(256), 127.5]:  # the 256 thresholds, then 0.5 for mean F
            positive = pred >= k / 255
            tp = (positive & gt).sum()
            p_row.append(tp / positive.sum() if positive.sum() else 0.0)
            r_row.append(tp / gt.sum() if gt.sum() else 0.0)
        precisions.append(p_row)
        recalls.append(r_row)
    p, r = np.mean(precisions, 0), np.mean(recalls, 0)
    f = np.where(beta2 * p + r > 0, (1 + beta2) * p * r / np.maximum(beta2 * p + r, 1e-12), 0.0)
    return {"mae": float(np.mean(maes)), "max_f": float(f[:256].max()), "mean_f": float(f[256])}


@pytest.mark.slow
def test_minmax_saliency_metrics_equal_the_toolbox_on_predicted_maps(seg, tmp_path):
    root = write_duts(tmp_path / "DUTS", n_train=4, n_val=3)
    for mask_path in (root / "DUTS-TE" / "DUTS-TE-Mask").glob("*.png"):  # a column exactly at 128: background
        mask = np.asarray(Image.open(mask_path)).copy()
        mask[:, 1] = 128
        Image.fromarray(mask).save(mask_path)
    model = ["model=unet", "model.base_channels=4", "model.depth=2"]
    trained = seg.run("train", "dataset=duts", f"dataset.root={root}", *model, *TINY, "dataset.threshold=128",
                      "eval.sod_normalize=minmax")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert seg.run("eval", "workers=0").returncode == 0  # the checkpoint's own convention
    assert seg.run("eval", "workers=0", "eval.sod_normalize=none").returncode == 0
    normalised, raw = (read_metrics(run) for run in run_dirs(tmp_path, "eval")[-2:])
    assert (normalised["sod_normalize"], raw["sod_normalize"]) == ("minmax", "none")

    images = root / "DUTS-TE" / "DUTS-TE-Image"
    predicted = seg.run("predict", str(images), "save=prob", f"out={tmp_path / 'maps'}")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    stems = sorted(p.stem for p in images.iterdir())
    maps = [np.asarray(Image.open(tmp_path / "maps" / f"{stem}_prob.png")) for stem in stems]
    truths = [np.asarray(Image.open(root / "DUTS-TE" / "DUTS-TE-Mask" / f"{stem}.png")) for stem in stems]
    expected = toolbox_scores(maps, truths)
    for key in ("mae", "max_f", "mean_f"):
        assert abs(normalised[key] - expected[key]) < 1e-3, (key, normalised[key], expected[key])
    assert abs(raw["mae"] - expected["mae"]) > 1e-3  # the raw convention really differs on these maps
