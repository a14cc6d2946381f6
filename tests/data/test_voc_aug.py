import pytest
from PIL import Image

from seg_cli.data.voc_aug import VOCAugSegmentation
from seg_cli.errors import DataError
from tests.data.fixtures import write_voc_aug


@pytest.mark.parametrize("level", ["parent", "VOCdevkit", "VOC2012"])
def test_train_is_train_aug_and_val_is_voc_val(tmp_path, level):
    devkit = write_voc_aug(tmp_path)
    root = {"parent": tmp_path, "VOCdevkit": devkit, "VOC2012": devkit / "VOC2012"}[level]
    train, val = VOCAugSegmentation(str(root), "train"), VOCAugSegmentation(str(root), "val")
    assert len(train) == 4 + 3 and len(val) == 3
    assert all(p.parent.name == "SegmentationClassAug" for p in train.mask_paths)
    assert all(p.parent.name == "SegmentationClass" for p in val.mask_paths)
    image, mask = train[6]  # an SBD-only image, label 17
    assert image.shape == (3, 40, 52) and set(mask.unique().tolist()) == {0, 17}
    assert set(val[0][1].unique().tolist()) == {0, 5, 255}


def test_pair_format_lists_and_voc_masks_filling_in(tmp_path):
    devkit = write_voc_aug(tmp_path)
    voc = devkit / "VOC2012"
    (voc / "SegmentationClassAug/2007_000000.png").unlink()  # only SegmentationClass has it
    (voc / "ImageSets/Segmentation/train_aug.txt").write_text(
        "/JPEGImages/2007_000000.jpg /SegmentationClassAug/2007_000000.png\n"
        "/JPEGImages/2008_000001.jpg /SegmentationClassAug/2008_000001.png\n"
    )
    train = VOCAugSegmentation(str(devkit), "train")
    assert train.ids == ["2007_000000", "2008_000001"]
    assert [p.parent.name for p in train.mask_paths] == ["SegmentationClass", "SegmentationClassAug"]
    assert Image.open(train.mask_paths[1]).mode == "L"


def test_missing_aug_folder_names_the_layout(tmp_path):
    from tests.helpers import write_voc

    write_voc(tmp_path)
    with pytest.raises(DataError, match=r"expected VOCdevkit/VOC2012/\{JPEGImages/\*.jpg, .*SegmentationClassAug"):
        VOCAugSegmentation(str(tmp_path), "train")


def test_id_without_mask_is_named(tmp_path):
    devkit = write_voc_aug(tmp_path)
    voc = devkit / "VOC2012"
    (voc / "ImageSets/Segmentation/train_aug.txt").write_text("2008_000000\n2011_999999\n")
    with pytest.raises(DataError, match=r"1 id\(s\) of train_aug.txt have no mask .* e.g. \['2011_999999'\]"):
        VOCAugSegmentation(str(devkit), "train")


def test_sbd_release_with_its_mat_masks(tmp_path):
    from tests.data.fixtures import untransformed, write_sbd_release

    root = write_sbd_release(tmp_path)
    train = untransformed("voc_aug", root, "train")
    voc_train = (tmp_path / "VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt").read_text().split()
    assert train.ids == sorted(voc_train + ["2008_000000", "2008_000001", "2008_000002"])  # VOC val left out
    sbd_index = train.ids.index("2008_000001")
    assert str(train.mask_paths[sbd_index]).endswith("benchmark_RELEASE/dataset/cls/2008_000001.mat")
    assert set(train[sbd_index][1].unique().tolist()) == {0, 16}
    assert len(untransformed("voc_aug", root, "val")) == 3
