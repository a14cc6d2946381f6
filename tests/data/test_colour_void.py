"""Colour masks with a void colour: `dataset.void_colors` reads it as ignore (VOC saved as RGB, CamVid colour
labels); errors about colours name colours; label_map stays on stored values (seg_cli.data.labels says why)."""

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.build import build_dataset
from seg_cli.data.labels import LabelConvention
from seg_cli.data.palette import class_palette, palette_image, voc_palette
from seg_cli.errors import ConfigError, DataError
from tests.data.fixtures import dataset_config, untransformed, write_camvid
from tests.helpers import run_seg, write_voc

VOID = (224, 224, 192)  # VOC's index 255 in its colour map
VOC_COLOURS = [voc_palette()[3 * i : 3 * i + 3] for i in range(21)]
RGB_VOC = {"palette": "voc", "void_colors": [list(VOID)]}  # the keys for VOC masks saved as RGB


def voc_as_rgb(tmp_path):
    """write_voc()'s tree with every mask saved as RGB, as image editors and some converters do."""
    devkit = write_voc(tmp_path / "data")
    for path in (devkit / "VOC2012" / "SegmentationClass").glob("*.png"):
        Image.open(path).convert("RGB").save(path)
    return devkit


def test_voc_saved_as_rgb_reads_as_the_palette_masks_with_void_ignored(tmp_path):
    indexed = untransformed("voc", write_voc(tmp_path / "indexed"), "train")
    rgb = untransformed("voc", voc_as_rgb(tmp_path / "rgb"), "train", **RGB_VOC)
    assert Image.open(rgb.sample_name(0)).mode == "RGB"
    for index in range(len(indexed)):
        mask = rgb[index][1]
        assert mask.equal(indexed[index][1]) and 255 in mask.unique().tolist()  # the border: void -> ignore


def test_camvid_colour_labels_read_as_its_index_masks(tmp_path):
    root = write_camvid(tmp_path)
    indexed = [untransformed("camvid", root, "train")[i][1] for i in range(2)]
    colours = dataset_config("camvid")["palette"] + [[0, 0, 0]]  # SegNet's colours, void (11) black
    for path in (root / "trainannot").glob("*.png"):
        Image.fromarray(np.asarray(colours, np.uint8)[np.asarray(Image.open(path))]).save(path)
    coloured = untransformed("camvid", root, "train")
    assert Image.open(coloured.sample_name(0)).mode == "RGB"
    assert all(coloured[i][1].equal(indexed[i]) for i in range(2)) and 255 in indexed[0].unique().tolist()


def test_a_colour_past_the_classes_is_named_as_a_colour_not_a_label_value(tmp_path):
    root = voc_as_rgb(tmp_path)
    cfg = dataset_config("voc", root=str(root), palette=VOC_COLOURS + [list(VOID)], void_colors=None)
    with pytest.raises(DataError) as err:
        build_dataset(cfg, "train", train=False)[0]
    message = str(err.value)
    assert "has colours [(224, 224, 192)] that are not among the 21 class colours of dataset.palette" in message
    assert "dataset.void_colors=[[224,224,192]]" in message and "label values" not in message
    assert "\n" not in message


def test_a_colour_outside_the_palette_is_named_with_the_fix(tmp_path):
    path = tmp_path / "mask.png"
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0, 0] = (9, 9, 9)
    Image.fromarray(rgb).save(path)
    labels = LabelConvention(palette=[[0, 0, 0], [255, 0, 0]], label_count=2)
    with pytest.raises(DataError, match=r"mask .*mask.png has colours \[\(9, 9, 9\)\] that are not in "
                                        r"dataset.palette; .* colours to ignore in dataset.void_colors=\[\[9,9,9\]\]"):
        labels.read(path)
    ignored = LabelConvention(palette=[[0, 0, 0], [255, 0, 0]], label_count=2, void_colors=[[9, 9, 9]], ignore_index=7)
    assert ignored.read(path).tolist()[0][:2] == [7, 0]


def test_label_map_applies_to_stored_values_only(tmp_path):
    """A palette colour is a class: Cityscapes' label_map (labelId 7 -> road) must not remap traffic sign
    (train id 7) read from its colour."""
    path = tmp_path / "color.png"
    cfg = dataset_config("cityscapes")
    Image.fromarray(np.full((2, 2, 3), cfg["palette"][7], np.uint8)).save(path)
    labels = LabelConvention(label_map=cfg["label_map"], palette=cfg["palette"], label_count=19)
    assert labels.read(path).unique().tolist() == [7]
    grey = tmp_path / "labelIds.png"
    Image.fromarray(np.full((2, 2), 7, np.uint8)).save(grey)
    assert labels.read(grey).unique().tolist() == [0]


@pytest.mark.parametrize("values,message", [
    ({"void_colors": [224, 224, 192]}, r"dataset.void_colors=\[224, 224, 192\] is not allowed; give \[r, g, b\]"),
    ({"void_colors": [[300, 0, 0]]}, r"dataset.void_colors=\[\[300, 0, 0\]\] is not allowed"),
    ({"void_colors": [[0, 0, 0]], "palette": None}, r"dataset.void_colors needs dataset.palette"),
    ({"void_colors": [[128, 0, 0]]}, r"dataset.void_colors colour \(128, 0, 0\) is class 1's colour"),
    ({"palette": "jet"}, r"dataset.palette='jet' is not allowed; .* a colour map \(voc\), or null"),
    ({"palette": [1, 2, 3]}, r"dataset.palette=\[1, 2, 3\] is not allowed"),
])
def test_bad_colour_keys_are_one_line_naming_the_key(tmp_path, values, message):
    cfg = dataset_config("voc", root=str(write_voc(tmp_path)), **{"palette": VOC_COLOURS, **values})
    with pytest.raises(ConfigError, match=message):
        build_dataset(cfg, "train", train=False)


def test_palette_voc_names_vocs_colour_map_for_any_class_count():
    labels = LabelConvention(palette="voc", label_count=30)
    assert labels.palette[:21] == [tuple(c) for c in VOC_COLOURS] and len(labels.palette) == 256
    assert class_palette("voc") == voc_palette()  # as predict draws with the raw config value
    assert np.asarray(palette_image(np.zeros((2, 2), np.uint8), "voc").convert("RGB"))[0, 0].tolist() == [0, 0, 0]


@pytest.mark.slow
def test_seg_data_check_on_voc_saved_as_rgb_names_the_keys_and_passes_with_them(tmp_path):
    devkit = voc_as_rgb(tmp_path)
    plain = run_seg("data", "check", "dataset=voc", f"dataset.root={devkit}", cwd=tmp_path)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "dataset.palette=voc for VOC's colours; colours to ignore go in dataset.void_colors, e.g. " \
           "dataset.void_colors=[[224,224,192]]" in plain.stdout
    result = run_seg("data", "check", "dataset=voc", f"dataset.root={devkit}", "dataset.palette=voc",
                     "dataset.void_colors=[[224,224,192]]", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "no problems found" in result.stdout


def test_the_void_border_is_ignored_pixel_for_pixel(tmp_path):
    """The void border of an RGB VOC mask becomes the ignore index, as in the palette PNG."""
    devkit = voc_as_rgb(tmp_path)
    mask = untransformed("voc", devkit, "train", **RGB_VOC)[0][1]
    assert int((mask == 255).sum()) == 26 and mask.dtype == torch.uint8  # the 52 // 2 border pixels
