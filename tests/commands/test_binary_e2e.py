"""Issue-3 datasets and models through the real CLI: train -> eval -> predict on layout fixtures."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.data.fixtures import write_duts, write_folder, write_hk
from tests.helpers import read_metrics, run_dirs, run_seg

TINY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
        "dataset.base_size=32", "dataset.crop_size=32"]
BINARY_KEYS = {"mae", "max_f", "mean_f", "dice", "iou_fg"}


def train_eval_predict(tmp_path, *train_args: str) -> dict:
    result = run_seg("train", *train_args, *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trained = read_metrics(run_dirs(tmp_path)[-1])
    assert BINARY_KEYS <= set(trained) and trained["best_metric"] == "max_f"
    evaluated = run_seg("eval", "workers=0", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert BINARY_KEYS <= set(read_metrics(run_dirs(tmp_path, "eval")[-1]))
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    Image.new("RGB", (37, 29), (90, 120, 30)).save(photos / "a.jpg")
    Image.new("L", (20, 24), 100).save(photos / "sub" / "b.png")
    predicted = run_seg("predict", str(photos), f"out={tmp_path / 'cut'}", cwd=tmp_path)
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
def test_duts_with_u2net_lite(tmp_path):
    root = write_duts(tmp_path / "DUTS")
    train_eval_predict(tmp_path, "dataset=duts", f"dataset.root={root}", "model=u2net_lite")


@pytest.mark.slow
def test_hk_with_unet(tmp_path):
    root = write_hk(tmp_path / "HK")
    train_eval_predict(tmp_path, "dataset=hk", f"dataset.root={root}", "model=unet", "model.base_channels=8")


def test_folder_dataset_end_to_end(tmp_path):
    root = write_folder(tmp_path / "mine")
    train_eval_predict(tmp_path, "dataset=folder", f"dataset.root={root}", "dataset.val_fraction=0.3",
                       "model.base_channels=4", "model.depth=2")
    assert json.loads((run_dirs(tmp_path)[-1] / "metrics.json").read_text())["images"] >= 1
