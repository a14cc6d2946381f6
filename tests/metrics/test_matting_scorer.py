import math

import numpy as np
import pytest
import torch

from seg_cli.metrics.matting import METRIC_KEYS, image_metrics
from seg_cli.metrics.matting_scorer import (
    STAT_KEYS,
    MattingScorer,
    iou_and_f,
    matting_row,
    matting_stats,
    saved_matte,
)


def logits_of(pred: np.ndarray) -> torch.Tensor:
    """(1, 1, H, W) logits whose sigmoid rounds to the 8-bit `pred` (kept 0.1 level off 0 and 1)."""
    q = np.clip(pred / 255, 0.1 / 255, 1 - 0.1 / 255)
    return torch.tensor(np.log(q / (1 - q)), dtype=torch.float32)[None, None]


def target_of(gt: np.ndarray, valid: np.ndarray | None = None, trimap: np.ndarray | None = None) -> torch.Tensor:
    channels = [gt, np.ones_like(gt) if valid is None else valid.astype(np.float64)]
    channels += [] if trimap is None else [trimap]
    return torch.tensor(np.stack(channels), dtype=torch.float32)


def two_images() -> list[tuple[np.ndarray, np.ndarray]]:
    """A soft disc with noise, and an all-opaque map (no trimap band: its *_trimap means are undefined)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:48, :64]
    gt = np.rint(np.clip(1.6 - np.hypot(yy - 24, xx - 32) / 10, 0, 1) * 255) / 255
    pred = np.rint(np.clip(gt + rng.normal(0, 0.15, gt.shape), 0, 1) * 255).astype(np.uint8)
    opaque_pred = np.full((20, 30), 255, dtype=np.uint8)
    opaque_pred[3:6, 4:9] = 100
    return [(pred, gt), (opaque_pred, np.ones((20, 30)))]


def test_saved_matte_rounds_the_sigmoid_to_8_bits():
    pred = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert (saved_matte(logits_of(pred)) == pred).all()


def test_scorer_means_equal_the_mean_of_the_image_values():
    scorer = MattingScorer()
    per_image = []
    for pred, gt in two_images():
        scorer.update(logits_of(pred), target_of(gt))
        per_image.append(image_metrics(pred, gt.astype(np.float32)))  # the alpha as the target tensor holds it
    out = scorer.compute()
    assert out["images"] == 2
    assert per_image[1]["mse_trimap"] is None and per_image[1]["sad_trimap"] == 0
    for key in METRIC_KEYS:
        values = [row[key] for row in per_image if row[key] is not None]
        assert out[key] == pytest.approx(sum(values) / len(values), rel=1e-12), key
    # the opaque image's 15 pixels at 100 < 128 are false negatives; counts are pooled over both images
    tp, fp, fn = (sum(row[key] for row in per_image) for key in ("tp_at_05", "fp_at_05", "fn_at_05"))
    assert fn >= 15 and tp > 600
    assert out["iou"] == pytest.approx(tp / (tp + fp + fn))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert out["f"] == pytest.approx(1.3 * precision * recall / (0.3 * precision + recall))


def test_a_shipped_trimap_channel_replaces_the_generated_one():
    pred, gt = two_images()[0]
    everything_unknown = np.full(gt.shape, 0.5)
    shipped = matting_stats(logits_of(pred), target_of(gt, trimap=everything_unknown)).tolist()
    values = dict(zip(STAT_KEYS, shipped))
    assert values["sad_trimap"] == pytest.approx(values["sad"]) and values["conn_trimap"] == pytest.approx(values["conn"])
    none_shipped = matting_stats(logits_of(pred), target_of(gt, trimap=np.full(gt.shape, -1.0))).tolist()
    generated = matting_stats(logits_of(pred), target_of(gt)).tolist()
    assert none_shipped == generated
    assert dict(zip(STAT_KEYS, generated))["sad_trimap"] < values["sad"]


def test_weight_channel_marks_the_valid_pixels_and_an_image_without_any_is_not_counted():
    pred, gt = two_images()[1]
    valid = np.ones(gt.shape)
    valid[3:6, 4:9] = 0  # the only wrong pixels
    scorer = MattingScorer()
    scorer.update(logits_of(pred), target_of(gt, valid=valid))
    scorer.update(logits_of(pred), target_of(gt, valid=np.zeros(gt.shape)))
    out = scorer.compute()
    assert out["images"] == 1 and out["sad"] == pytest.approx(0, abs=1e-12) and out["mse"] == pytest.approx(0, abs=1e-12)
    assert math.isnan(out["mse_trimap"]) and out["iou"] == pytest.approx(1.0)


def test_empty_scorer_gives_nan_and_zero_images():
    out = MattingScorer().compute()
    assert out["images"] == 0 and all(math.isnan(out[key]) for key in (*METRIC_KEYS, "iou", "f"))


def test_reduce_is_a_no_op_in_a_single_process():
    assert not torch.distributed.is_initialized()
    scorer = MattingScorer()
    pred, gt = two_images()[0]
    scorer.update(logits_of(pred), target_of(gt))
    before = scorer.compute()
    scorer.reduce_from_all_processes()
    assert scorer.compute() == before


def test_row_turns_nan_into_none_and_adds_iou_and_f():
    stats = [math.nan] * len(STAT_KEYS)
    stats[STAT_KEYS.index("sad")] = 0.25
    stats[-3:] = [3.0, 1.0, 0.0]  # tp, fp, fn
    row = matting_row(stats)
    assert list(row)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert row["sad"] == 0.25 and row["mse"] is None and row["conn_trimap"] is None
    assert row["iou"] == pytest.approx(3 / 4) and row["f"] == pytest.approx(1.3 * 0.75 / (0.3 * 0.75 + 1))
    assert iou_and_f(0.0, 0.0, 0.0) == (None, None) and iou_and_f(0.0, 2.0, 0.0) == (0.0, 0.0)


def test_format_prints_both_regions_in_the_fields_units():
    scorer = MattingScorer()
    for pred, gt in two_images():
        scorer.update(logits_of(pred), target_of(gt))
    metrics = scorer.compute()
    text = scorer.format(metrics)
    lines = text.splitlines()
    assert lines[0].split() == ["region", "SAD", "MSE", "MAD", "Grad", "Conn"]
    assert lines[1].startswith("whole image") and f"{metrics['sad']:.3f}" in lines[1]
    assert lines[2].startswith("trimap") and f"{metrics['mse_trimap']:.5f}" in lines[2]
    assert "images 2" in text and f"{100 * metrics['iou']:.2f}" in text
    assert "-" in MattingScorer.format({**metrics, "conn_trimap": math.nan}).splitlines()[2].split()
