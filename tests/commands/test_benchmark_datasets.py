"""Each benchmark dataset through the real CLI in its official layout: one epoch of train, then eval and predict."""

import numpy as np
import pytest
from PIL import Image

from tests.data.fixtures import dataset_config, write_ade20k, write_camvid, write_cityscapes, write_coco_stuff
from tests.helpers import read_metrics, run_dirs, run_seg

TINY = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
        "dataset.base_size=32", "dataset.crop_size=32"]
DATASETS = {"cityscapes": (write_cityscapes, "val"), "ade20k": (write_ade20k, "validation"),
            "coco_stuff164k": (write_coco_stuff, "val2017"), "camvid": (write_camvid, "val")}


@pytest.mark.parametrize("option", [
    "cityscapes", "ade20k", pytest.param("coco_stuff164k", marks=pytest.mark.slow),
    pytest.param("camvid", marks=pytest.mark.slow),
])
def test_train_eval_predict(seg, tmp_path, option):
    writer, _ = DATASETS[option]
    root = writer(tmp_path / "data")
    trained = seg.run("train", f"dataset={option}", f"dataset.root={root}", *TINY)
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = read_metrics(run_dirs(tmp_path)[-1])
    assert metrics["epoch"] == 1 and len(metrics["per_class_iou"]) == {"cityscapes": 19, "ade20k": 150,
                                                                        "coco_stuff164k": 171, "camvid": 11}[option]
    assert seg.run("eval", "workers=0").returncode == 0
    assert read_metrics(run_dirs(tmp_path, "eval")[-1])["pixels"] == metrics["pixels"] > 0
    images = sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png") and "leftImg8bit" in str(p)
                    or p.suffix == ".jpg" or (option == "camvid" and p.parent.name == "val"))
    predicted = seg.run("predict", str(images[0]), f"out={tmp_path / 'pred'}", "save=[mask,color]")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert sorted(p.suffix for p in (tmp_path / "pred").iterdir()) == [".png", ".png"]
    palette = dataset_config(option)["palette"]
    if palette:  # the dataset's own class colours (Cityscapes', SegNet's) colour the prediction
        colour = next((tmp_path / "pred").glob("*_color.png"))
        used = {tuple(c) for c in np.asarray(Image.open(colour)).reshape(-1, 3).tolist()}
        assert used <= {tuple(c) for c in palette}, used


def test_drive_unet_preset_trains_evaluates_and_predicts(seg, tmp_path):
    from tests.data.fixtures import write_drive

    root = write_drive(tmp_path / "data")
    trained = seg.run("train", "experiment=drive_unet", f"dataset.root={root}", "model.base_channels=4",
                      "model.depth=2", "train.eval_every=1", *TINY)
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = read_metrics(run_dirs(tmp_path)[-1])
    assert set(metrics["per_class_iou"]) == {"background", "vessel"}
    assert metrics["pixels"] == 2 * 36 * (40 - 4)  # the field of view of the two test images only
    assert seg.run("eval", "workers=0").returncode == 0
    image = root / "test" / "images" / "01_test.tif"
    predicted = seg.run("predict", str(image), f"out={tmp_path / 'pred'}", "save=mask")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert (tmp_path / "pred" / "01_test.png").is_file()


def test_voc_aug_from_sbds_own_release_trains(tmp_path):
    from tests.data.fixtures import write_sbd_release

    root = write_sbd_release(tmp_path / "data")
    trained = run_seg("train", "dataset=voc_aug", f"dataset.root={root}", *TINY, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 1
