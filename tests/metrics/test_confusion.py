import math

import pytest
import torch

from seg_cli.metrics.confusion import ConfusionMatrix, format_table


def test_matrix_counts_pairs_and_skips_ignored_pixels():
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
    cm = ConfusionMatrix(3)
    cm.update(target, pred)
    assert cm.mat.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_metrics_match_hand_computation():
    cm = ConfusionMatrix(3)
    cm.mat = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    m = cm.compute(["bg", "a", "b"])
    # IoU: bg 1/(2+2-1)=1/3, a 2/(2+3-2)=2/3, b 1/(2+1-1)=1/2; acc: 1/2, 1, 1/2
    assert m["per_class_iou"] == pytest.approx({"bg": 1 / 3, "a": 2 / 3, "b": 1 / 2})
    assert m["miou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert m["pixel_acc"] == pytest.approx(4 / 6)
    assert m["mean_acc"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["pixels"] == 6


def test_absent_class_is_excluded_from_the_mean_not_counted_as_zero():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 0]))
    m = cm.compute()
    assert m["per_class_iou"]["2"] is None  # neither in ground truth nor prediction
    # IoU 0: 2/3, 1: 1/2 -> mean over the two present classes
    assert m["miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_class_only_predicted_counts_with_iou_zero():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 2, 1]))
    m = cm.compute()
    assert m["per_class_iou"]["2"] == 0.0
    assert m["per_class_acc"]["2"] is None  # no ground truth pixels: accuracy undefined
    assert m["miou"] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_labels_at_or_above_num_classes_are_not_counted():
    cm = ConfusionMatrix(2)
    cm.update(torch.tensor([0, 1, 5]), torch.tensor([0, 1, 1]), ignore_index=255)
    assert int(cm.mat.sum()) == 2


def test_empty_matrix_gives_nan_not_an_exception():
    m = ConfusionMatrix(2).compute()
    assert math.isnan(m["miou"]) and math.isnan(m["pixel_acc"])


def test_table_lists_every_class_and_summary():
    cm = ConfusionMatrix(2)
    cm.update(torch.tensor([0, 1]), torch.tensor([0, 1]))
    table = format_table(cm.compute(["background", "cat"]))
    assert "background" in table and "cat" in table and "mIoU 100.00" in table


@pytest.mark.parametrize("ignore_index", [255, 0])
def test_uint8_labels_count_exactly_as_wide_labels(ignore_index):
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(0, 6, (40, 30), generator=gen)
    target[target == 5] = 255  # ignored
    target[0, :7] = 4  # a label past num_classes=4: never counted
    pred = torch.randint(0, 4, (40, 30), generator=gen)
    narrow, wide = ConfusionMatrix(4), ConfusionMatrix(4)
    narrow.update(target.to(torch.uint8), pred, ignore_index)
    wide.update(target, pred, ignore_index)
    assert torch.equal(narrow.mat, wide.mat)
    expected = ((target < 4) & (target != ignore_index)).sum()
    assert int(narrow.mat.sum()) == int(expected) > 0
    assert narrow.mat.tolist() == [[int(((target == t) & (pred == p)).sum()) if t != ignore_index else 0
                                    for p in range(4)] for t in range(4)]
