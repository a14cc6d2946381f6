"""Per-image rows: hand-computed values, the worst images, the CSV."""

import csv

import pytest
import torch

from seg_cli.metrics.per_image import PerImageResults, worst_rows, write_per_image_csv


def one_hot_logits(labels: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, classes).permute(2, 0, 1)[None].float()


def test_multiclass_rows_match_hand_computation():
    results = PerImageResults("multiclass", num_classes=3)
    # image 7: gt 0 0 1 255, pred 0 1 1 2 -> tp 0:1 1:1; gt 0:2 1:1; pred 0:1 1:2 (the ignored pixel not counted)
    results.update(7, one_hot_logits(torch.tensor([[0, 1], [1, 2]]), 3), torch.tensor([[0, 0], [1, 255]]))
    # image 2: everything right, class 2 only
    results.update(2, one_hot_logits(torch.tensor([[2, 2]]), 3), torch.tensor([[2, 2]]))
    rows = results.rows(lambda i: f"img{i}.png", ["bg", "a", "b"])
    assert [r["index"] for r in rows] == [2, 7] and rows[1]["image"] == "img7.png"
    assert rows[0] == {"index": 2, "image": "img2.png", "pixel_acc": 1.0, "miou": 1.0,
                       "pixels_bg": 0, "pixels_a": 0, "pixels_b": 2}
    # IoU over the classes present in image 7: 0: 1/(2+1-1) = 1/2, 1: 1/(1+2-1) = 1/2 (class 2 absent)
    assert rows[1]["pixel_acc"] == pytest.approx(2 / 3) and rows[1]["miou"] == pytest.approx(0.5)
    assert (rows[1]["pixels_bg"], rows[1]["pixels_a"], rows[1]["pixels_b"]) == (2, 1, 0)


def test_binary_rows_match_hand_computation():
    results = PerImageResults("binary", num_classes=1)
    # probabilities 0.9 0.4 / 0.6 0.1, gt 1 1 / 0 0: at 0.5 tp 1, fn 1, fp 1, tn 1
    prob = torch.tensor([[0.9, 0.4], [0.6, 0.1]])
    results.update(0, torch.logit(prob)[None, None], torch.tensor([[1, 1], [0, 0]]))
    results.update(1, torch.full((1, 1, 1, 2), -5.0), torch.tensor([[255, 255]]))  # nothing labelled
    first, empty = results.rows(str, ["background", "foreground"])
    assert first["mae"] == pytest.approx((0.1 + 0.6 + 0.6 + 0.1) / 4)
    assert first["pixel_acc"] == 0.5 and first["dice"] == pytest.approx(0.5) and first["iou_fg"] == pytest.approx(1 / 3)
    assert first["f_at_05"] == pytest.approx(0.5)  # P = R = 1/2
    assert (first["pixels_background"], first["pixels_foreground"]) == (2, 2)
    assert empty["mae"] is None and empty["dice"] is None and empty["pixels_foreground"] == 0


def test_worst_rows_rank_by_miou_or_by_mae_and_skip_undefined():
    rows = [{"index": 0, "miou": 0.5, "mae": 0.1}, {"index": 1, "miou": None, "mae": None},
            {"index": 2, "miou": 0.2, "mae": 0.3}, {"index": 3, "miou": 0.5, "mae": 0.2}]
    assert [r["index"] for r in worst_rows(rows, 3, "multiclass")] == [2, 0, 3]  # ties in dataset order
    assert [r["index"] for r in worst_rows(rows, 2, "binary")] == [2, 3]  # highest MAE first
    assert worst_rows(rows, 0, "multiclass") == []


def test_csv_has_one_row_per_image_and_empty_cells_for_undefined(tmp_path):
    rows = [{"index": 0, "image": "a, b.png", "miou": 0.25, "pixels_x": 3},
            {"index": 1, "image": "c.png", "miou": None, "pixels_x": 0}]
    write_per_image_csv(rows, tmp_path / "per_image.csv")
    back = list(csv.DictReader(open(tmp_path / "per_image.csv")))
    assert back == [{"index": "0", "image": "a, b.png", "miou": "0.250000", "pixels_x": "3"},
                    {"index": "1", "image": "c.png", "miou": "", "pixels_x": "0"}]
