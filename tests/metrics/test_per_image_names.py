"""per_image.csv names each row's image file in `image` (the mask file in `mask`), for every dataset kind."""

import csv

import torch

from seg_cli.data.build import build_dataset
from seg_cli.metrics.per_image import PerImageResults, write_per_image_csv
from tests.data.fixtures import dataset_config, untransformed, write_folder, write_voc_aug
from tests.helpers import write_voc


def rows_for(dataset, count: int = 2):
    results = PerImageResults("multiclass", num_classes=2)
    for index in range(count):
        results.update(index, torch.zeros(1, 2, 2, 2), torch.zeros(2, 2, dtype=torch.long))
    return results.rows(dataset.sample_files, ["a", "b"])


def test_folder_rows_name_the_image_and_the_mask(tmp_path):
    root = write_folder(tmp_path)
    dataset = untransformed("folder", root, "val", val_fraction=0.2)
    rows = rows_for(dataset)
    assert [r["image"] for r in rows] == [str(p[0]) for p in dataset.pairs]
    assert [r["mask"] for r in rows] == [str(p[1]) for p in dataset.pairs]
    assert rows[0]["image"].endswith(".jpg") and "/images/" in rows[0]["image"]
    write_per_image_csv(rows, tmp_path / "per_image.csv")
    with open(tmp_path / "per_image.csv", newline="") as f:
        reader = csv.DictReader(f)
        first = next(reader)
    assert reader.fieldnames[:3] == ["index", "image", "mask"] and first["image"] == str(dataset.pairs[0][0])


def test_voc_and_voc_aug_rows_name_jpeg_images(tmp_path):
    voc = untransformed("voc", write_voc(tmp_path / "voc"), "val")
    row = rows_for(voc)[0]
    assert row["image"].endswith("JPEGImages/2007_000004.jpg")
    assert row["mask"].endswith("SegmentationClass/2007_000004.png")
    aug = untransformed("voc_aug", write_voc_aug(tmp_path / "aug"), "train")
    row = rows_for(aug)[0]
    assert row["image"].endswith(".jpg") and "SegmentationClassAug" in row["mask"]


def test_paired_benchmarks_and_synthetic_rows(tmp_path):
    from tests.data.fixtures import write_duts

    duts = untransformed("duts", write_duts(tmp_path / "DUTS"), "val")
    row = rows_for(duts)[0]
    assert "DUTS-TE-Image" in row["image"] and "DUTS-TE-Mask" in row["mask"]
    synthetic = build_dataset(dataset_config("synthetic", val_size=2), "val", train=False)
    assert rows_for(synthetic)[1] == {"index": 1, "image": "synthetic/val/00001", "pixel_acc": 1.0, "miou": 1.0,
                                      "pixels_a": 4, "pixels_b": 0}


def test_a_plain_name_is_the_image_column():
    results = PerImageResults("multiclass", num_classes=2)
    results.update(0, torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, dtype=torch.long))
    assert list(results.rows(lambda i: f"img{i}", ["a", "b"])[0])[:2] == ["index", "image"]
