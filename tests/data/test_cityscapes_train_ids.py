"""Cityscapes trees with ready-made `*_gtFine_labelTrainIds.png` (cityscapesScripts' createTrainIdLabelImgs):
paired and read as train ids with no overrides, with or without the labelIds files beside them."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.labels import LabelConvention
from seg_cli.data.paired import pair_by_stem
from seg_cli.errors import DataError
from tests.data.fixtures import dataset_config, untransformed, write_cityscapes
from tests.helpers import run_seg

IGNORE = 255


def write_train_ids(root: Path, remove_label_ids: bool = True, cities: tuple[str, ...] = ("aachen", "frankfurt")
                    ) -> Path:
    """Beside every labelIds mask of `cities`, its labelTrainIds mask as createTrainIdLabelImgs writes it
    (cityscapesScripts' table: 7 -> 0, 24 -> 11, 26 -> 13, others 255); the labelIds file removed."""
    table = LabelConvention(label_map=dataset_config("cityscapes")["label_map"])
    for path in sorted((root / "gtFine").rglob("*_gtFine_labelIds.png")):
        if path.parent.name not in cities:
            continue
        train_ids = table.apply(torch.from_numpy(np.asarray(Image.open(path)).copy())).numpy()
        Image.fromarray(train_ids).save(str(path).replace("_labelIds", "_labelTrainIds"))
        if remove_label_ids:
            path.unlink()
    return root


def classes(mask) -> set[int]:
    return set(mask.unique().tolist())


def test_a_tree_of_train_ids_only_pairs_and_reads_them_as_stored(tmp_path):
    root = write_train_ids(write_cityscapes(tmp_path))
    assert not list(root.rglob("*_gtFine_labelIds.png"))
    train = untransformed("cityscapes", root, "train")
    assert len(train) == 4 and len(untransformed("cityscapes", root, "val")) == 2
    assert train.sample_name(0).endswith("aachen/aachen_000000_000019_gtFine_labelTrainIds.png")
    mask = train[0][1]
    assert int(mask[16, 32]) == 13 and int(mask[0, 20]) == 0 and int(mask[0, 0]) == IGNORE  # car, road, void
    assert classes(train[1][1]) == {0, 11, IGNORE}  # person: train id 11, not mapped again


def test_the_same_masks_as_the_labelids_tree(tmp_path):
    mapped = untransformed("cityscapes", write_cityscapes(tmp_path / "ids"), "train")
    ready = untransformed("cityscapes", write_train_ids(write_cityscapes(tmp_path / "train_ids")), "train")
    for index in range(len(mapped)):
        assert ready[index][1].equal(mapped[index][1])


def test_labelids_win_where_both_exist_and_a_mixed_tree_reads_each_by_its_kind(tmp_path):
    both = untransformed("cityscapes", write_train_ids(write_cityscapes(tmp_path / "both"), remove_label_ids=False),
                         "train")
    assert both.sample_name(0).endswith("_gtFine_labelIds.png") and int(both[0][1][16, 32]) == 13
    mixed_root = write_train_ids(write_cityscapes(tmp_path / "mixed"), cities=("frankfurt",))
    train, val = untransformed("cityscapes", mixed_root, "train"), untransformed("cityscapes", mixed_root, "val")
    assert train.sample_name(0).endswith("_labelIds.png") and val.sample_name(0).endswith("_labelTrainIds.png")
    assert int(train[0][1][16, 32]) == 13 and int(val[0][1][16, 32]) == 13


def test_the_old_override_still_reads_train_ids(tmp_path):
    root = write_train_ids(write_cityscapes(tmp_path), remove_label_ids=False)
    for values in ({"label_map": None}, {}):  # label_map=null is no longer needed
        ready = untransformed("cityscapes", root, "train", mask_suffix="_gtFine_labelTrainIds", **values)
        assert ready.sample_name(0).endswith("_labelTrainIds.png") and classes(ready[0][1]) == {0, 13, IGNORE}


def test_a_mask_of_neither_kind_still_fails_to_pair_naming_both_names(tmp_path):
    root = write_train_ids(write_cityscapes(tmp_path))
    next((root / "gtFine" / "train").rglob("*_labelTrainIds.png")).unlink()
    with pytest.raises(DataError, match="1 image.* without a mask.*<id>_gtFine_labelIds.<ext> or "
                                        "<id>_gtFine_labelTrainIds.<ext>"):
        untransformed("cityscapes", root, "train")


def test_alternative_suffixes_claim_each_file_once(tmp_path):
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (4, 4)).save(tmp_path / "images" / f"{name}.png")
    Image.new("L", (4, 4)).save(tmp_path / "masks" / "a.png")
    Image.new("L", (4, 4)).save(tmp_path / "masks" / "b_ready.png")  # not also id "b_ready" of suffix ""
    pairs = pair_by_stem(tmp_path / "images", tmp_path / "masks", "", ["", "_ready"])
    assert {key: mask.name for key, (_, mask) in pairs.items()} == {"a": "a.png", "b": "b_ready.png"}


def test_seg_data_check_passes_on_a_train_ids_tree(tmp_path):
    root = write_train_ids(write_cityscapes(tmp_path / "cityscapes"))
    result = run_seg("data", "check", "dataset=cityscapes", f"dataset.root={root}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no problems found" in result.stdout
    assert "mask values read (after dataset.label_map / reduce_zero_label): 0, 11, 13, 255" in result.stdout
