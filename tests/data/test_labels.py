"""Label conventions on hand-made masks: label_map, reduce_zero_label, palette and 16-bit PNGs, on every dataset."""

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.build import build_dataset
from seg_cli.data.labels import LabelConvention, suggest_convention
from seg_cli.errors import ConfigError, DataError
from tests.helpers import write_voc

VOC = {"_target_": "seg_cli.data.voc.VOCSegmentation", "num_classes": 21, "ignore_index": 255, "base_size": 48,
       "crop_size": 40}


def test_label_map_sends_values_to_classes_or_ignore():
    labels = LabelConvention(label_map={26: 13, "7": 0, 0: "ignore"}, ignore_index=255)
    mask = torch.tensor([[26, 7, 0], [3, 255, 26]], dtype=torch.uint8)
    assert labels.apply(mask).tolist() == [[13, 0, 255], [3, 255, 13]]  # 3 unmapped: a class, unchanged


def test_reduce_zero_label_shifts_after_the_map_and_keeps_ignore():
    labels = LabelConvention(reduce_zero_label=True, ignore_index=255)
    assert labels.apply(torch.tensor([0, 1, 150, 255])).tolist() == [255, 0, 149, 255]
    mapped = LabelConvention(label_map={9: 1}, reduce_zero_label=True)
    assert mapped.apply(torch.tensor([9, 0, 2])).tolist() == [0, 255, 1]


def test_bad_maps_name_the_key():
    for bad in ({"a": 1}, {3: "sky"}, {70000: 1}, {1: 300}):
        with pytest.raises(ConfigError, match="dataset.label_map entry"):
            LabelConvention(label_map=bad)


def voc_with_masks(tmp_path, masks: list[np.ndarray]):
    voc = write_voc(tmp_path, n_train=len(masks), n_val=1)
    ids = (voc / "VOC2012/ImageSets/Segmentation/train.txt").read_text().split()
    for name, mask in zip(ids, masks):
        Image.fromarray(mask).save(voc / "VOC2012/SegmentationClass" / f"{name}.png")
    return str(tmp_path)


def test_every_dataset_takes_the_convention_from_its_config(tmp_path):
    mask = np.zeros((40, 52), np.uint8)
    mask[:, :10], mask[:, 10:20], mask[:, 20:] = 0, 1, 21  # 21 is past VOC's classes until reduced
    root = voc_with_masks(tmp_path, [mask])
    with pytest.raises(DataError, match=r"has label values \[21\] outside \[0, 21\)"):
        build_dataset({**VOC, "root": root}, "train", train=False)[0]
    reduced = build_dataset({**VOC, "root": root, "reduce_zero_label": True}, "train", train=False)[0][1]
    assert reduced.dtype == torch.uint8
    assert set(reduced[:, :10].unique().tolist()) == {255} and set(reduced[:, 20:].unique().tolist()) == {20}


def test_16_bit_label_pngs_keep_their_values(tmp_path):
    mask = np.zeros((40, 52), np.uint16)
    mask[:, 26:] = 1000
    root = voc_with_masks(tmp_path, [mask])  # uint16: saved as a 16-bit PNG
    with pytest.raises(DataError, match=r"has label values \[1000\] outside"):
        build_dataset({**VOC, "root": root}, "train", train=False)[0]
    mapped = build_dataset({**VOC, "root": root, "label_map": {1000: 5}}, "train", train=False)[0][1]
    assert set(mapped[:, 26:].unique().tolist()) == {5} and set(mapped[:, :26].unique().tolist()) == {0}


def test_colour_masks_through_the_palette_on_voc(tmp_path):
    rgb = np.zeros((40, 52, 3), np.uint8)
    rgb[:, 30:] = (128, 0, 0)
    root = voc_with_masks(tmp_path, [rgb])
    palette = [[0, 0, 0], [128, 0, 0]] + [[i, i, i] for i in range(1, 20)]
    mask = build_dataset({**VOC, "root": root, "palette": palette}, "train", train=False)[0][1]
    assert mask[:, 30:].eq(1).all() and mask[:, :30].eq(0).all()


def test_hints_for_common_conventions():
    assert any("reduce_zero_label=true" in h for h in suggest_convention({0, 1, 5, 150}, 150, 255))
    assert any("dataset=cityscapes" in h for h in suggest_convention({0, 7, 8, 26, 33}, 19, 255))
    assert any("0/255 binary" in h for h in suggest_convention({0, 255}, 4, 255))
    assert suggest_convention({0, 1, 2, 255}, 3, 255) == []


def test_a_palette_for_colours_leaves_grey_0_255_masks_as_foreground(tmp_path):
    mask = np.zeros((40, 52), np.uint8)
    mask[10:30, 10:40] = 255  # binary 0/255 masks in a two-label dataset
    root = voc_with_masks(tmp_path, [mask])
    cfg = {**VOC, "root": root, "num_classes": 2, "class_names": ["background", "object"]}
    plain = build_dataset(cfg, "train", train=False)[0][1]
    coloured = build_dataset({**cfg, "palette": [[0, 0, 0], [255, 0, 0]]}, "train", train=False)[0][1]
    assert set(plain.unique().tolist()) == set(coloured.unique().tolist()) == {0, 1}


def test_colour_decoded_masks_are_not_mapped_again(tmp_path):
    rgb = np.zeros((40, 52, 3), np.uint8)
    rgb[:, 30:] = (128, 0, 0)
    root = voc_with_masks(tmp_path, [rgb])
    palette = [[0, 0, 0], [128, 0, 0]] + [[i, i, i] for i in range(1, 20)]
    mask = build_dataset({**VOC, "root": root, "palette": palette, "label_map": {1: 5, 0: "ignore"}}, "train",
                         train=False)[0][1]
    assert mask[:, 30:].eq(1).all() and mask[:, :30].eq(0).all()  # colours name classes, not stored values


def test_folder_0_255_masks_follow_an_explicit_label_map(tmp_path):
    from tests.data.fixtures import write_folder

    root = write_folder(tmp_path, n=4)
    cfg = {"_target_": "seg_cli.data.folder.FolderSegmentation", "root": str(root), "val_fraction": 0,
           "num_classes": 2, "task": "multiclass", "ignore_index": 255, "base_size": 32, "crop_size": 32,
           "class_names": ["object", "rest"], "label_map": {0: 1, 255: 0}}
    stored = np.asarray(Image.open(sorted((root / "masks").glob("*.png"))[0]))
    mask = build_dataset(cfg, "train", train=False)[0][1].numpy()
    assert ((stored == 255) == (mask == 0)).all() and ((stored == 0) == (mask == 1)).all()


def test_the_full_cityscapes_and_coco_stuff_tables():
    from tests.data.fixtures import dataset_config

    # cityscapesScripts' labels table: (labelId, trainId) of the 19 training classes; every other id ignored
    train_ids = dict(zip([7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33], range(19)))
    city = LabelConvention(label_map=dataset_config("cityscapes")["label_map"])
    assert city.apply(torch.arange(34)).tolist() == [train_ids.get(i, 255) for i in range(34)]
    # COCO-Stuff: stored id = category id - 1; ids no category uses are dropped, the rest numbered in order
    unused = {11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90}
    coco = LabelConvention(label_map=dataset_config("coco_stuff164k")["label_map"])
    expected, index = [], 0
    for stored in range(182):
        expected.append(255 if stored in unused else index)
        index += stored not in unused
    assert coco.apply(torch.arange(182)).tolist() == expected and index == 171
    assert coco.apply(torch.tensor([255])).tolist() == [255]
