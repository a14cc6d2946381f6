import functools

import pytest
import torch

from seg_cli.errors import ConfigError, DataError
from tests.data.fixtures import untransformed, write_hk

hk = functools.partial(untransformed, "hk")  # hk(root, split, **values): as hk.yaml builds it, untransformed


def test_training_and_testing_folders_pair_images_with_mattes(tmp_path):
    root = write_hk(tmp_path)
    train, val = hk(str(root), "train"), hk(str(root), "val")
    assert len(train) == 4 and len(val) == 2
    assert [p[0].name for p in val.pairs] == ["00005.png", "00006.png"]
    assert [p[1].name for p in val.pairs] == ["00005_matte.png", "00006_matte.png"]
    image, mask = train[0]
    assert image.shape == (3, 40, 30) and mask.shape == (40, 30) and mask.dtype == torch.uint8
    assert set(mask.unique().tolist()) == {0, 1}
    # rectangle 20 x 15 plus the 200-valued matte column; the 100-valued one is background
    assert int(mask.sum()) == 20 * 15 + 20


def test_matte_without_image_is_named(tmp_path):
    root = write_hk(tmp_path)
    (root / "training/00002.png").unlink()
    with pytest.raises(DataError, match=r"1 mask\(s\) without an image \[00002_matte.png\]"):
        hk(str(root), "train")


def test_missing_root_names_the_layout(tmp_path):
    with pytest.raises(DataError, match=r"no training/ under dataset.root=.*training/\{NNNNN.png, NNNNN_matte.png\}"):
        hk(str(tmp_path), "train")


def test_binary_task_needs_one_channel(tmp_path):
    with pytest.raises(ConfigError, match="dataset.num_classes=2 with dataset.task=binary"):
        hk(str(write_hk(tmp_path)), "train", num_classes=2)
