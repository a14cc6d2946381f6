import logging

import pytest
import torch

from seg_cli.data.base import SegmentationDataset
from seg_cli.data.class_weights import class_weight_tensor, median_frequency_weights, sample_indices
from seg_cli.errors import ConfigError, DataError

# 2x3 masks; 255 is ignored.  class pixels: c0 = 3 + 1 = 4, c1 = 2 + 5 = 7, c2 = 5, c3 = 0
MASKS = [
    [[0, 0, 1], [1, 255, 0]],  # 5 labelled pixels: c0 3, c1 2
    [[2, 2, 2], [0, 2, 2]],  # 6 labelled pixels: c0 1, c2 5
    [[1, 1, 1], [1, 1, 255]],  # 5 labelled pixels: c1 5
]
# freq = class pixels / labelled pixels of the images holding the class:
# c0 = 4 / (5 + 6), c1 = 7 / (5 + 5), c2 = 5 / 6; the median is c1's 0.7; c3 appears nowhere -> 0
EXPECTED = [0.7 / (4 / 11), 1.0, 0.7 / (5 / 6), 0.0]


def refuse_transforms(image, mask):
    raise AssertionError("class weights must read raw masks, not transformed ones")


class HandMade(SegmentationDataset):
    """Masks given as lists; images are black and never looked at."""

    def __init__(self, masks: list, num_classes: int, task: str = "multiclass", bad: tuple[int, ...] = ()) -> None:
        super().__init__("train", num_classes, task=task, transforms=refuse_transforms)
        self.masks = [torch.tensor(m, dtype=torch.uint8) for m in masks]
        self.bad = bad  # these samples get an image of the wrong size

    def __len__(self) -> int:
        return len(self.masks)

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        mask = self.masks[index]
        height = mask.shape[0] + (index in self.bad)
        return torch.zeros(3, height, mask.shape[1], dtype=torch.uint8), mask

    def sample_name(self, index: int) -> str:
        return f"mask{index}.png"


def test_median_frequency_by_hand(caplog):
    with caplog.at_level(logging.WARNING):
        weights = median_frequency_weights(HandMade(MASKS, 4), 4)
    assert weights == pytest.approx(EXPECTED)
    assert "class(es) 3 appear in no mask read and get weight 0" in caplog.text


def test_max_samples_reads_evenly_spread_masks():
    assert sample_indices(10, 3) == [0, 3, 6] and sample_indices(3, None) == [0, 1, 2]
    assert sample_indices(3, 5) == [0, 1, 2]
    # Masks 0 and 1 (of 3): c0 = 4/11, c1 = 2/5, c2 = 5/6; median 2/5.
    weights = median_frequency_weights(HandMade(MASKS, 4), 4, max_samples=2)
    assert weights == pytest.approx([0.4 / (4 / 11), 1.0, 0.4 / (5 / 6), 0.0])
    # Mask 0 alone: c0 = 3/5, c1 = 2/5; an even count of classes takes the mean of the middle two, 1/2.
    weights = median_frequency_weights(HandMade(MASKS, 4), 4, max_samples=1)
    assert weights == pytest.approx([0.5 / 0.6, 0.5 / 0.4, 0.0, 0.0])


def test_binary_0_255_masks_are_read_as_0_1():
    masks = [[[0, 255, 255, 255]], [[0, 0, 0, 255]], [[0, 0, 0, 0]]]
    # c0 = 8 / 12 (all three images), c1 = 4 / 8 (the first two); median (2/3 + 1/2) / 2 = 7/12
    weights = median_frequency_weights(HandMade(masks, 1, task="binary"), 2)
    assert weights == pytest.approx([(7 / 12) / (2 / 3), (7 / 12) / (1 / 2)])


def test_ignored_pixels_count_nowhere():
    masks = [[[0, 1, 255, 255]], [[0, 0, 0, 1]]]
    # c0 = 4 / 6, c1 = 2 / 6: the two 255 pixels are neither class pixels nor image pixels.
    weights = median_frequency_weights(HandMade(masks, 2), 2)
    assert weights == pytest.approx([0.5 / (4 / 6), 0.5 / (2 / 6)])


def test_bad_samples_raise_or_are_skipped():
    dataset = HandMade(MASKS, 4, bad=(2,))
    with pytest.raises(DataError, match="mask2.png"):
        median_frequency_weights(dataset, 4)
    dataset.on_error = "skip"
    assert median_frequency_weights(dataset, 4) == pytest.approx(median_frequency_weights(HandMade(MASKS[:2], 4), 4))
    with pytest.raises(DataError, match="label 3 is outside 0..2"):
        median_frequency_weights(HandMade([[[0, 3]]], 4), 3)
    with pytest.raises(DataError, match="no labelled pixel"):
        median_frequency_weights(HandMade([[[255, 255]]], 3), 3)


def test_class_weight_tensor_settings():
    dataset = HandMade(MASKS, 4)
    assert class_weight_tensor(None, dataset, 4, 255) is None
    auto = class_weight_tensor("auto", dataset, 4, 255)
    assert auto.dtype == torch.float32 and auto.tolist() == pytest.approx(EXPECTED)
    given = class_weight_tensor([1, 2.5, 0, 3], dataset, 4, 255)
    assert given.dtype == torch.float32 and given.tolist() == [1.0, 2.5, 0.0, 3.0]
    assert class_weight_tensor((1.0, 1.0, 1.0, 1.0), dataset, 4, 255).shape == (4,)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ([1.0, 2.0], "loss.class_weights lists 2 weights but the dataset has 4 classes"),
        ("median", "loss.class_weights='median' is not allowed"),
        ([1.0, -1.0, 1.0, 1.0], "finite numbers >= 0"),
        ([1.0, float("nan"), 1.0, 1.0], "finite numbers >= 0"),
        ([1.0, "x", 1.0, 1.0], "finite numbers >= 0"),
        ([0, 0, 0, 0], "all 0"),
    ],
)
def test_class_weight_tensor_rejects_bad_settings(setting, message):
    with pytest.raises(ConfigError, match=message):
        class_weight_tensor(setting, HandMade(MASKS, 4), 4, 255)
