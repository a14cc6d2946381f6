"""The benchmark datasets in their official layouts: pairing, label maps on hand-made masks, errors."""

import numpy as np
import pytest
from PIL import Image

from seg_cli.errors import DataError
from tests.data.fixtures import untransformed, write_ade20k, write_camvid, write_cityscapes, write_coco_stuff

IGNORE = 255


def classes(mask) -> set[int]:
    return set(mask.unique().tolist())


def test_cityscapes_labelids_become_the_19_training_classes(tmp_path):
    root = write_cityscapes(tmp_path)
    train = untransformed("cityscapes", root, "train")
    assert len(train) == 4 and len(untransformed("cityscapes", root, "val")) == 2
    assert train.sample_name(0).endswith("aachen/aachen_000000_000019_gtFine_labelIds.png")
    mask = train[0][1]
    assert int(mask[16, 32]) == 13  # labelId 26 (car) -> trainId 13
    assert int(mask[0, 0]) == IGNORE  # labelId 0 (unlabelled) -> ignore
    assert int(mask[0, 20]) == 0  # labelId 7 (road) -> trainId 0
    assert classes(untransformed("cityscapes", root, "train")[1][1]) == {0, 11, IGNORE}  # 24 (person) -> 11


def test_cityscapes_ready_made_train_ids_are_read_as_they_are(tmp_path):
    root = write_cityscapes(tmp_path)
    for path in (root / "gtFine" / "train").rglob("*_gtFine_labelIds.png"):
        train_ids = np.where(np.asarray(Image.open(path)) == 26, 13, 255).astype(np.uint8)
        Image.fromarray(train_ids).save(str(path).replace("_labelIds", "_labelTrainIds"))
    ready = untransformed("cityscapes", root, "train", mask_suffix="_gtFine_labelTrainIds", label_map=None)
    assert classes(ready[0][1]) == {13, IGNORE}


def test_ade20k_ignores_other_and_shifts_the_classes(tmp_path):
    root = write_ade20k(tmp_path)
    mask = untransformed("ade20k", root, "train")[1][1]
    assert int(mask[20, 24]) == 149 and int(mask[0, 0]) == IGNORE and int(mask[0, 20]) == 0  # 150, 0, 1
    assert len(untransformed("ade20k", root, "val")) == 2


def test_coco_stuff_drops_the_unused_ids(tmp_path):
    root = write_coco_stuff(tmp_path)
    first, second = (untransformed("coco_stuff164k", root, "train")[i][1] for i in (0, 1))
    assert int(first[20, 24]) == 0 and int(second[20, 24]) == 11  # person; id 12 follows unused id 11
    assert int(first[0, 20]) == 156 - 11 and int(first[0, 0]) == IGNORE  # sky-other after the 11 unused ids


def test_camvid_void_is_ignored(tmp_path):
    root = write_camvid(tmp_path)
    mask = untransformed("camvid", root, "train")[0][1]
    assert classes(mask) == {3, 8, IGNORE}
    assert len(untransformed("camvid", root, "test")) == 2


@pytest.mark.parametrize("option,writer", [("cityscapes", write_cityscapes), ("ade20k", write_ade20k),
                                           ("coco_stuff164k", write_coco_stuff), ("camvid", write_camvid)])
def test_a_wrong_root_names_the_expected_tree(tmp_path, option, writer):
    with pytest.raises(DataError, match=r"under dataset.root=.*: expected <root>/"):
        untransformed(option, tmp_path / "nowhere", "train")


def test_a_value_outside_the_map_names_the_file(tmp_path):
    root = write_camvid(tmp_path)
    path = sorted((root / "trainannot").glob("*.png"))[0]
    mask = np.asarray(Image.open(path)).copy()
    mask[5, 5] = 40
    Image.fromarray(mask).save(path)
    with pytest.raises(DataError, match=rf"{path.name} has label values \[40\] outside \[0, 11\)"):
        untransformed("camvid", root, "train")[0]


def test_drive_ignores_pixels_outside_the_field_of_view(tmp_path):
    from tests.data.fixtures import write_drive

    root = write_drive(tmp_path)
    train, val = untransformed("drive", root, "train"), untransformed("drive", root, "val")
    assert (len(train), len(val)) == (4, 2)
    image, mask = train[0]
    assert image.shape[0] == 3 and classes(mask[:, :4]) == {IGNORE} and classes(mask[:, 4:]) == {0, 1}
    assert train.sample_name(0).endswith("training/1st_manual/21_manual1.gif")


def test_drive_field_of_view_is_read_by_grey_level_whatever_the_gif_palette(tmp_path):
    from tests.data.fixtures import write_drive

    root = write_drive(tmp_path)
    for path in (root / "training" / "mask").glob("*.gif"):  # white first in the palette: index 0 is inside
        inside = np.asarray(Image.open(path).convert("L")) > 127
        gif = Image.fromarray(np.where(inside, 0, 1).astype(np.uint8), mode="P")
        gif.putpalette([255, 255, 255, 0, 0, 0] + [0, 0, 0] * 254)
        gif.save(path)
    mask = untransformed("drive", root, "train")[0][1]
    assert classes(mask[:, :4]) == {IGNORE} and IGNORE not in classes(mask[:, 4:])
