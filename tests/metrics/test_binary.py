import math

import pytest
import torch

from seg_cli.metrics.binary import BinaryMetrics, format_binary_table

B2 = 0.3


def f_beta(p: float, r: float) -> float:
    return (1 + B2) * p * r / (B2 * p + r) if p + r else 0.0


def test_one_image_matches_hand_computation():
    # 5 valid pixels: fg at 0.9 and 0.4, bg at 0.6, 0.1 and 0.0; the 255 pixel (prob 1.0) is ignored.
    prob = torch.tensor([[[0.9, 0.4, 0.6], [0.1, 1.0, 0.0]]])
    target = torch.tensor([[[1, 1, 0], [0, 255, 0]]])
    m = BinaryMetrics()
    m.update(prob, target)
    out = m.compute()
    assert out["images"] == 1
    assert out["mae"] == pytest.approx((0.1 + 0.6 + 0.6 + 0.1 + 0.0) / 5)
    # threshold >= 0.5: tp 1 (0.9), fp 1 (0.6), fn 1 (0.4) -> P = R = 1/2
    assert out["mean_f"] == pytest.approx(0.5)
    assert out["dice"] == pytest.approx(2 / 4) and out["iou_fg"] == pytest.approx(1 / 3)
    # thresholds in (0.6, 0.9]: P 1, R 1/2 -> F 0.8125, the best of
    # (0.4, 0.6]: P 1/2, R 1/2; (0.1, 0.4]: P 2/3, R 1; (0, 0.1]: P 2/4, R 1; 0: P 2/5, R 1
    curve = [f_beta(1, 0.5), f_beta(0.5, 0.5), f_beta(2 / 3, 1), f_beta(2 / 4, 1), f_beta(2 / 5, 1)]
    assert max(curve) == pytest.approx(0.8125)
    assert out["max_f"] == pytest.approx(0.8125)
    # the lowest threshold of that range: 0.6 = 153/255 still counts the 0.6 background pixel, 154/255 not
    assert out["best_threshold"] == pytest.approx(154 / 255)


def test_precision_and_recall_are_averaged_over_images_before_f():
    m = BinaryMetrics()
    # image 1: perfect; image 2: one fg pixel predicted 0, one bg pixel predicted 1
    m.update(torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]]))
    m.update(torch.tensor([[0.0, 1.0]]), torch.tensor([[1, 0]]))
    out = m.compute()
    # at any threshold k >= 1: image 1 P=R=1, image 2 P=R=0 -> means 1/2 -> F 1/2; at k=0: P 1/2, R 1 for both
    assert out["max_f"] == pytest.approx(max(0.5, f_beta(0.5, 1.0)))
    assert out["mae"] == pytest.approx(0.5)
    assert out["images"] == 2


def test_empty_ground_truth_has_recall_zero_and_counts_as_an_image():
    m = BinaryMetrics()
    m.update(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
    out = m.compute()
    assert out["images"] == 1 and out["mae"] == 0.0 and out["max_f"] == 0.0 and out["mean_f"] == 0.0
    assert math.isnan(out["dice"]) and math.isnan(out["iou_fg"])  # no foreground anywhere: undefined


def test_fully_ignored_images_are_skipped_and_nothing_gives_nan():
    m = BinaryMetrics()
    m.update(torch.rand(2, 3, 3), torch.full((2, 3, 3), 255))
    out = m.compute()
    assert out["images"] == 0
    assert all(math.isnan(out[k]) for k in ("mae", "max_f", "mean_f", "dice", "iou_fg", "best_threshold"))


def test_batches_add_up_like_single_images():
    torch.manual_seed(0)
    prob = torch.rand(4, 8, 8)
    target = (torch.rand(4, 8, 8) > 0.6).long()
    target[0, :2] = 255
    together, apart = BinaryMetrics(), BinaryMetrics()
    together.update(prob, target)
    for i in range(4):
        apart.update(prob[i : i + 1], target[i : i + 1])
    a, b = together.compute(), apart.compute()
    assert a == pytest.approx(b)


def test_threshold_k_over_255_is_inclusive():
    # prob exactly 0.6 = 153/255 is foreground at k=153 and above nothing higher
    m = BinaryMetrics()
    m.update(torch.tensor([[0.6]]), torch.tensor([[1]]))
    assert m.recall_sum[153].item() == 1.0 and m.recall_sum[154].item() == 0.0


def test_table_lists_every_metric():
    m = BinaryMetrics()
    m.update(torch.tensor([[0.9, 0.1]]), torch.tensor([[1, 0]]))
    table = format_binary_table(m.compute())
    for label in ("MAE", "max F", "F @ 0.5", "Dice", "IoU fg", "images"):
        assert label in table
    assert "0.1000" in table and "100.00" in table
    assert "-" in format_binary_table(BinaryMetrics().compute())
