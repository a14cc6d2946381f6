"""The 0/255 rule every dataset shares (SegmentationDataset's lazy check and FolderSegmentation's probe)."""

import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.base import holds_0_255, labels_from_0_255
from seg_cli.data.folder import PROBE_MASKS, FolderSegmentation
from tests.data.fixtures import write_folder


@pytest.mark.parametrize("values,verdict", [
    ([0], None), ([0, 255], True), ([255], True), ([0, 1], False), ([0, 1, 255], False), ([0, 128, 255], False),
])
def test_only_a_mask_with_non_zero_values_tells_and_then_only_0_and_255_mean_yes(values, verdict):
    assert holds_0_255(torch.tensor(values, dtype=torch.uint8)) is verdict


def test_255_becomes_label_1():
    assert labels_from_0_255(torch.tensor([0, 255, 0], dtype=torch.uint8)).tolist() == [0, 1, 0]


def test_the_folder_probe_settles_it_for_the_lazy_check_too(tmp_path):
    root = write_folder(tmp_path, values="0/1")
    border_only = np.zeros((32, 40), np.uint8)
    border_only[0, :] = 255  # no foreground, an ignored border: alone it would look like a 0/255 mask
    Image.fromarray(border_only).save(root / "masks/img_009.png")
    ds = FolderSegmentation(str(root), "train", val_fraction=0)
    assert not ds.binary_255
    assert set(ds[9][1].unique().tolist()) == {0, 255}  # 255 stays the ignore label


def test_masks_that_cannot_tell_leave_it_to_the_first_loaded_mask_with_foreground(tmp_path):
    root = write_folder(tmp_path, n=PROBE_MASKS + 1)
    for index in range(PROBE_MASKS):  # every mask the start-up probe reads is background only
        Image.fromarray(np.zeros((32, 40), np.uint8)).save(root / f"masks/img_{index:03d}.png")
    ds = FolderSegmentation(str(root), "train", val_fraction=0)
    assert not ds.binary_255 and ds._zero_255_masks is None
    image, mask = ds[PROBE_MASKS]
    assert ds._zero_255_masks is True and set(mask.unique().tolist()) == {0, 1}
