"""Metrics of binary (foreground/background) segmentation, as salient-object and matting papers report them.

`update` takes foreground probabilities and 0/1 targets (255 = ignore) and keeps per-image sums:

- mae: mean |prob - target| over an image's valid pixels, averaged over images.
- max_f: precision and recall are computed per image at 256 thresholds k/255 (foreground where
  prob >= k/255; an empty prediction has precision 0, an empty ground truth recall 0), averaged over
  images, combined into F-beta = (1 + b2) P R / (b2 P + R) with b2 = beta^2 = 0.3, and maximised over the
  thresholds (the "maxF" of DUTS / U2Net benchmarks).
- mean_f: the same F-beta at the single threshold 0.5.
- dice, iou_fg: foreground Dice and IoU at threshold 0.5 from true/false positives and negatives pooled over
  all pixels, as the confusion matrix does for multi-class runs.
- best_threshold: the threshold k/255 of max_f (the lowest one on ties), which `seg predict threshold=auto`
  applies to the checkpoint's masks (see checkpoint_threshold).
- `curve()`: the mean precision, recall and F-beta at each threshold k/255, whose maximum is max_f
  (pr_curve.png and f_curve.png draw it).

Images whose pixels are all ignored are skipped.
"""

from __future__ import annotations

import math

import torch


class BinaryMetrics:
    """Accumulates per-image precision/recall curves, MAE and pooled counts at threshold 0.5."""

    def __init__(self, thresholds: int = 256, beta2: float = 0.3, device: torch.device | str = "cpu") -> None:
        self.thresholds = thresholds
        self.beta2 = beta2
        self.precision_sum = torch.zeros(thresholds, dtype=torch.float64, device=device)
        self.recall_sum = torch.zeros(thresholds, dtype=torch.float64, device=device)
        # images, sum of per-image MAE, sums of per-image precision/recall at 0.5, pooled tp/fp/fn at 0.5
        self.sums = torch.zeros(7, dtype=torch.float64, device=device)

    def update(self, prob: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> None:
        """Add a batch: `prob` float (B, H, W) in [0, 1], `target` (B, H, W) holding 0, 1 or `ignore_index`."""
        prob, target = prob.flatten(1).double(), target.flatten(1)
        valid = target != ignore_index
        fg, bg = valid & (target == 1), valid & (target != 1)
        n_valid, n_fg = valid.sum(1), fg.sum(1)
        keep = n_valid > 0
        if not bool(keep.any()):
            return
        prob, valid, fg, bg, n_valid, n_fg = prob[keep], valid[keep], fg[keep], bg[keep], n_valid[keep], n_fg[keep]
        # Threshold k counts a pixel as foreground when floor(prob * (T - 1)) >= k (tolerance for k/255 itself).
        levels = (prob * (self.thresholds - 1) + 1e-6).floor().clamp(0, self.thresholds - 1).long()
        tp = _counts_at_or_above(levels, fg, self.thresholds)
        fp = _counts_at_or_above(levels, bg, self.thresholds)
        self.precision_sum += (tp / (tp + fp).clamp(min=1)).sum(0)
        self.recall_sum += (tp / n_fg.clamp(min=1)[:, None]).sum(0)

        positive = prob >= 0.5
        tp05, fp05 = (positive & fg).sum(1).double(), (positive & bg).sum(1).double()
        fn05 = n_fg - tp05
        mae = ((prob - fg.double()).abs() * valid).sum(1) / n_valid
        self.sums += torch.stack([
            torch.tensor(float(len(n_valid)), dtype=torch.float64, device=self.sums.device),
            mae.sum(),
            (tp05 / (tp05 + fp05).clamp(min=1)).sum(),
            (tp05 / n_fg.clamp(min=1)).sum(),
            tp05.sum(), fp05.sum(), fn05.sum(),
        ]).to(self.sums.device)

    def reduce_from_all_processes(self) -> None:
        """Sum the statistics of all ranks (every rank saw a disjoint shard)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            for tensor in (self.precision_sum, self.recall_sum, self.sums):
                dist.all_reduce(tensor)

    def compute(self) -> dict:
        """mae, max_f, best_threshold, mean_f, dice, iou_fg (NaN when nothing was counted) and the number of
        images."""
        images, mae_sum, p05_sum, r05_sum, tp, fp, fn = self.sums.cpu().tolist()
        if images == 0:
            return {"mae": math.nan, "max_f": math.nan, "mean_f": math.nan, "dice": math.nan,
                    "iou_fg": math.nan, "best_threshold": math.nan, "images": 0}
        f_curve = _f_beta(self.precision_sum.cpu() / images, self.recall_sum.cpu() / images, self.beta2)
        best = int(f_curve.argmax())  # the first maximum: the lowest threshold on ties
        return {
            "mae": mae_sum / images,
            "max_f": float(f_curve[best]),
            "best_threshold": best / (self.thresholds - 1),
            "mean_f": float(_f_beta(torch.tensor(p05_sum / images), torch.tensor(r05_sum / images), self.beta2)),
            "dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else math.nan,
            "iou_fg": tp / (tp + fp + fn) if tp + fp + fn > 0 else math.nan,
            "images": int(images),
        }

    def curve(self) -> dict[str, list[float]] | None:
        """{"threshold", "precision", "recall", "f"}: per threshold k/255 the precision and recall averaged
        over images and their F-beta, from the sums `compute` reads (None when no image was counted)."""
        images = float(self.sums[0])
        if images == 0:
            return None
        precision, recall = self.precision_sum.cpu() / images, self.recall_sum.cpu() / images
        return {"threshold": [k / (self.thresholds - 1) for k in range(self.thresholds)],
                "precision": precision.tolist(), "recall": recall.tolist(),
                "f": _f_beta(precision, recall, self.beta2).tolist()}


def _counts_at_or_above(levels: torch.Tensor, selected: torch.Tensor, thresholds: int) -> torch.Tensor:
    """(images, thresholds) counts of selected pixels whose level is >= each threshold index."""
    rows = torch.arange(levels.shape[0], device=levels.device)[:, None].expand_as(levels)
    codes = (rows * thresholds + levels)[selected]
    hist = torch.bincount(codes, minlength=levels.shape[0] * thresholds).view(-1, thresholds).double()
    return hist.flip(1).cumsum(1).flip(1)


def _f_beta(precision: torch.Tensor, recall: torch.Tensor, beta2: float) -> torch.Tensor:
    denominator = beta2 * precision + recall
    return torch.where(denominator > 0, (1 + beta2) * precision * recall / denominator.clamp(min=1e-12), 0.0)


def format_binary_table(metrics: dict) -> str:
    """A plain-text table of the binary metrics (F, Dice and IoU in percent, MAE as a fraction)."""
    rows = [("MAE", _fraction(metrics["mae"])), ("max F (b2=0.3)", _pct(metrics["max_f"])),
            ("F @ 0.5", _pct(metrics["mean_f"])), ("Dice @ 0.5", _pct(metrics["dice"])),
            ("IoU fg @ 0.5", _pct(metrics["iou_fg"])),
            ("best threshold", _fraction(metrics.get("best_threshold"))), ("images", str(metrics["images"]))]
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"{'metric':<{width}}  {'value':>7}"] + [f"{name:<{width}}  {value:>7}" for name, value in rows])


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"


def _fraction(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"
