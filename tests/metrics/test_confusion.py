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


# gt x pred, 4 classes: class 2 absent from both, class 3 labelled once and never predicted.
# gt = [6, 4, 0, 1], pred = [8, 3, 0, 0], tp = [5, 2, 0, 0], 11 pixels.
MATRIX = [[5, 1, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]


def test_dice_f1_precision_recall_fwiou_match_hand_computation():
    cm = ConfusionMatrix(4)
    cm.mat = torch.tensor(MATRIX)
    m = cm.compute(["bg", "a", "absent", "missed"])
    # Dice 2tp/(gt+pred): 10/14, 4/7, undefined, 0/1
    assert m["per_class_dice"] == pytest.approx({"bg": 5 / 7, "a": 4 / 7, "absent": None, "missed": 0.0})
    assert m["mdice"] == pytest.approx(3 / 7)
    # F1 = 2PR/(P+R): bg P 5/8, R 5/6 -> 5/7; a P 2/3, R 1/2 -> 4/7; missed: never predicted -> 0
    assert m["per_class_f1"] == pytest.approx({"bg": 5 / 7, "a": 4 / 7, "absent": None, "missed": 0.0})
    assert m["mf1"] == pytest.approx(3 / 7)
    # precision tp/pred: 5/8, 2/3; undefined for the two classes never predicted
    assert m["per_class_precision"] == pytest.approx({"bg": 5 / 8, "a": 2 / 3, "absent": None, "missed": None})
    assert m["mprecision"] == pytest.approx(31 / 48)
    # recall tp/gt: 5/6, 1/2, undefined, 0
    assert m["per_class_recall"] == pytest.approx({"bg": 5 / 6, "a": 0.5, "absent": None, "missed": 0.0})
    assert m["mrecall"] == pytest.approx(4 / 9) == m["mean_acc"]
    # IoU 5/9, 2/5, -, 0; fwIoU = (6 * 5/9 + 4 * 2/5 + 1 * 0) / 11
    assert m["miou"] == pytest.approx(43 / 135)
    assert m["fwiou"] == pytest.approx(74 / 165)
    assert m["pixel_acc"] == pytest.approx(7 / 11)
    assert m["per_class_pixels"] == {"bg": 6, "a": 4, "absent": 0, "missed": 1} and m["pixels"] == 11


def test_fwiou_weights_by_ground_truth_pixels():
    cm = ConfusionMatrix(2)
    cm.mat = torch.tensor([[9, 1], [0, 0]])  # class 1 only predicted: IoU 0 but weight 0
    m = cm.compute()
    assert m["fwiou"] == pytest.approx(0.9) and m["miou"] == pytest.approx(0.45)


def test_empty_matrix_gives_nan_for_every_mean():
    m = ConfusionMatrix(2).compute()
    assert all(math.isnan(m[k]) for k in ("mdice", "mf1", "mprecision", "mrecall", "fwiou"))


def test_table_prints_the_chosen_columns_and_their_means():
    cm = ConfusionMatrix(4)
    cm.mat = torch.tensor(MATRIX)
    m = cm.compute(["bg", "a", "absent", "missed"])
    table = format_table(m, ["dice", "precision", "fwiou"])
    header, *rows, summary = table.splitlines()
    assert header.split() == ["class", "Dice", "Prec"]
    assert rows[0].split() == ["bg", "71.43", "62.50"] and rows[2].split() == ["absent", "-", "-"]
    assert summary == "pixel acc 63.64  mDice 42.86  mPrec 64.58  fwIoU 44.85"
    # the default keeps the table as it always was
    assert format_table(m).splitlines()[-1] == "pixel acc 63.64  mean acc 44.44  mIoU 31.85"
    with pytest.raises(ValueError, match="unknown table metric"):
        format_table(m, ["kappa"])


def test_every_eval_metric_has_a_table_entry():
    from seg_cli.choices import EVAL_METRICS
    from seg_cli.metrics.confusion import TABLE_METRICS

    assert tuple(TABLE_METRICS) == EVAL_METRICS
