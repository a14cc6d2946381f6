import functools

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.build import build_dataset
from seg_cli.errors import DataError
from tests.data.fixtures import dataset_config, untransformed, write_duts

duts = functools.partial(untransformed, "duts")  # duts(root, split, **values): as duts.yaml builds it, untransformed


def test_splits_are_duts_tr_and_duts_te_with_thresholded_masks(tmp_path):
    root = write_duts(tmp_path)
    train, val = duts(str(root), "train"), duts(str(root), "val")
    assert len(train) == 4 and len(val) == 3
    assert train.task == "binary" and train.num_classes == 1 and train.class_names == ["background", "foreground"]
    image, mask = train[0]
    assert image.shape == (3, 36, 44) and image.dtype == torch.uint8 and mask.shape == (36, 44)
    assert set(mask.unique().tolist()) == {0, 1}
    grey = torch.from_numpy(np.array(Image.open(train.pairs[0][1])))
    assert torch.equal(mask, (grey > 127).to(torch.uint8))  # the 200-valued edge is in, the 100-valued one out


def test_threshold_is_configurable(tmp_path):
    root = write_duts(tmp_path)
    strict, loose = duts(str(root), "val", threshold=250), duts(str(root), "val", threshold=50)
    assert int(loose[0][1].sum()) - int(strict[0][1].sum()) == 2 * 18  # two soft columns, 36 // 2 rows


def test_missing_root_names_the_layout(tmp_path):
    with pytest.raises(DataError, match=r"no DUTS-TR under dataset.root=.*DUTS-TR/\{DUTS-TR-Image/\*.jpg"):
        duts(str(tmp_path / "nowhere"), "train")


def test_image_without_mask_is_named(tmp_path):
    root = write_duts(tmp_path)
    (root / "DUTS-TE/DUTS-TE-Mask/ILSVRC2012_test_00000001.png").unlink()
    with pytest.raises(DataError, match=r"1 image\(s\) without a mask \[ILSVRC2012_test_00000001.jpg\]"):
        duts(str(root), "val")


def test_preset_is_the_u2net_recipe(tmp_path):
    root = write_duts(tmp_path)
    cfg = dataset_config("duts", root=str(root))
    image, mask = build_dataset(cfg, "train", train=True)[0]
    assert image.shape == (3, 288, 288) and mask.shape == (288, 288)
    image, mask = build_dataset(cfg, "val", train=False)[0]
    assert image.shape == (3, 320, 320) and mask.shape == (36, 44)  # metrics at the mask's own size
