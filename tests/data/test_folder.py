import logging

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.folder import FolderSegmentation
from seg_cli.errors import ConfigError, DataError
from tests.data.fixtures import write_folder


def test_binary_0_255_masks_become_0_1_with_a_notice(tmp_path, caplog):
    root = write_folder(tmp_path)
    with caplog.at_level(logging.INFO, logger="seg_cli.data.folder"):
        ds = FolderSegmentation(str(root), "train")
    assert "reading 255 as foreground" in caplog.text
    image, mask = ds[0]
    assert image.shape == (3, 32, 40) and mask.shape == (32, 40)
    assert set(mask.unique().tolist()) == {0, 1} and int(mask.sum()) == 16 * 20
    assert ds.class_names == ["background", "foreground"]


def test_0_1_masks_keep_255_as_ignore(tmp_path):
    ds = FolderSegmentation(str(write_folder(tmp_path, values="0/1")), "train")
    assert not ds.binary_255
    assert set(ds[0][1].unique().tolist()) == {0, 1, 255}


def test_val_fraction_split_is_deterministic_and_disjoint(tmp_path):
    root = str(write_folder(tmp_path, n=10))
    train, val = FolderSegmentation(root, "train", val_fraction=0.2), FolderSegmentation(root, "val", val_fraction=0.2)
    assert len(train) == 8 and len(val) == 2
    assert not {p[0] for p in train.pairs} & {p[0] for p in val.pairs}
    assert val.pairs == FolderSegmentation(root, "val", val_fraction=0.2).pairs
    assert val.pairs != FolderSegmentation(root, "val", val_fraction=0.2, split_seed=1).pairs


def test_split_lists_and_the_complement_of_a_single_list(tmp_path):
    root = str(write_folder(tmp_path, lists=True))
    val = FolderSegmentation(root, "val", train_list="train.txt", val_list="val.txt")
    assert [p[0].name for p in val.pairs] == ["img_008.jpg", "img_009.jpg"]
    only_val = FolderSegmentation(root, "train", val_list="val.txt")
    assert len(only_val) == 8


def test_list_entry_without_files_is_an_error(tmp_path):
    root = write_folder(tmp_path, lists=True)
    (root / "val.txt").write_text("img_009\nimg_404.jpg\n")
    with pytest.raises(DataError, match=r"1 id\(s\) in .*val.txt have no image/mask pair, e.g. \['img_404'\]"):
        FolderSegmentation(str(root), "val", val_list="val.txt")


def test_mask_suffix_and_shared_folder(tmp_path):
    root = write_folder(tmp_path, mask_suffix="_mask")
    for mask in (root / "masks").iterdir():
        mask.rename(root / "images" / mask.name)
    ds = FolderSegmentation(str(root), "train", masks_dir="images", mask_suffix="_mask", val_fraction=0)
    assert len(ds) == 10 and ds.pairs[0][1].name == "img_000_mask.png"


def test_unpaired_files_name_both_lists(tmp_path):
    root = write_folder(tmp_path)
    (root / "masks/img_001.png").unlink()
    (root / "masks/img_002.png").rename(root / "masks/other.png")
    with pytest.raises(DataError) as err:
        FolderSegmentation(str(root), "train")
    message = str(err.value)
    assert "2 image(s) without a mask [img_001.jpg, img_002.jpg]" in message
    assert "1 mask(s) without an image [other.png]" in message


def test_unexpected_value_in_a_0_255_dataset_names_the_file(tmp_path):
    root = write_folder(tmp_path)
    mask = np.zeros((32, 40), np.uint8)
    mask[:4] = 128
    Image.fromarray(mask).save(root / "masks/img_009.png")
    ds = FolderSegmentation(str(root), "train", val_fraction=0)
    with pytest.raises(DataError, match=r"img_009.png has values \[128\]"):
        ds[9]


def test_multiclass_masks_and_out_of_range_labels(tmp_path):
    root = str(write_folder(tmp_path, values="multiclass"))
    ds = FolderSegmentation(root, "train", task="multiclass", num_classes=3, val_fraction=0)
    assert set().union(*(set(ds[i][1].unique().tolist()) for i in range(2))) == {0, 1, 2}
    too_few = FolderSegmentation(root, "train", task="multiclass", num_classes=2, val_fraction=0)
    with pytest.raises(DataError, match=r"img_001.png has label values \[2\]"):
        too_few[1]


def test_palette_decodes_colour_masks(tmp_path):
    root = write_folder(tmp_path, n=2)
    colours = np.zeros((32, 40, 3), np.uint8)
    colours[:, 20:] = (0, 128, 0)
    Image.fromarray(colours).save(root / "masks/img_000.png")
    ds = FolderSegmentation(str(root), "train", task="multiclass", num_classes=2, val_fraction=0,
                            palette=[[0, 0, 0], [0, 128, 0]])
    mask = ds[0][1]
    assert mask[:, :20].eq(0).all() and mask[:, 20:].eq(1).all()
    colours[0, 0] = (9, 9, 9)
    Image.fromarray(colours).save(root / "masks/img_000.png")
    with pytest.raises(DataError, match=r"img_000.png has colours \[\(9, 9, 9\)\] that are not in dataset.palette"):
        ds[0]


def test_missing_root_and_bad_options(tmp_path):
    with pytest.raises(DataError, match=r"is not a folder: expected <root>/images/<id>.jpg"):
        FolderSegmentation(str(tmp_path / "nowhere"), "train")
    root = str(write_folder(tmp_path))
    with pytest.raises(DataError, match="splits train and val, not 'test'"):
        FolderSegmentation(root, "test")
    with pytest.raises(ConfigError, match="class_names has 3 names"):
        FolderSegmentation(root, "train", class_names=["a", "b", "c"])


def test_dataset_rows_are_tensors(tmp_path):
    ds = FolderSegmentation(str(write_folder(tmp_path)), "val")
    image, mask = ds[0]
    assert image.dtype == torch.uint8 and mask.dtype == torch.uint8
