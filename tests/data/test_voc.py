import pytest
import torch

from seg_cli.data.voc import VOCSegmentation
from seg_cli.errors import DataError
from tests.helpers import write_voc


@pytest.mark.parametrize("level", ["parent", "VOCdevkit", "VOC2012"])
def test_root_may_name_any_level_of_the_layout(tmp_path, level):
    devkit = write_voc(tmp_path)
    root = {"parent": tmp_path, "VOCdevkit": devkit, "VOC2012": devkit / "VOC2012"}[level]
    ds = VOCSegmentation(str(root), "train")
    assert len(ds) == 4 and len(VOCSegmentation(str(root), "val")) == 3
    image, mask = ds[0]
    assert image.shape == (3, 40, 52) and image.dtype == torch.uint8
    assert set(mask.unique().tolist()) == {0, 1, 255}


def test_missing_root_names_layout_and_download_option(tmp_path):
    with pytest.raises(DataError, match=r"expected VOCdevkit/VOC2012/.*dataset.download=true"):
        VOCSegmentation(str(tmp_path / "nowhere"), "train")


def test_label_out_of_range_names_the_file(tmp_path):
    devkit = write_voc(tmp_path, n_train=2, n_val=1)
    ds = VOCSegmentation(str(devkit), "train", num_classes=1)
    with pytest.raises(DataError, match=r"2007_000000.png has label values \[1\]"):
        ds[0]
