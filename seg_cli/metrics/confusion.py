"""Confusion matrix (bincount on the device) and the segmentation metrics derived from it.

Rows are ground truth, columns are predictions. Pixels labelled `ignore_index` are not counted.
mIoU and mean accuracy average over the classes that occur in the ground truth or the prediction,
so a class absent from both does not turn the mean into NaN or drag it to zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class ConfusionMatrix:
    """Accumulates a num_classes x num_classes int64 matrix."""

    def __init__(self, num_classes: int, device: torch.device | str = "cpu") -> None:
        self.num_classes = num_classes
        self.mat = torch.zeros((num_classes, num_classes), dtype=torch.int64, device=device)

    def update(self, target: torch.Tensor, pred: torch.Tensor, ignore_index: int = 255) -> None:
        """Add a batch; `target` and `pred` hold class indices of the same shape."""
        n = self.num_classes
        pred = pred.flatten().to(torch.int64)
        if target.dtype == torch.uint8 and ignore_index >= n:
            # Labels 0..255: every pixel whose label is not a class (ignore_index included) lands in a bin
            # past n*n, cut off below. Half the passes of the general path (0.055 vs 0.105 ms a val image).
            codes = target.flatten().to(torch.int64) * n + pred
            self.mat += torch.bincount(codes, minlength=n * n)[: n * n].reshape(n, n)
            return
        target = target.flatten().to(torch.int64)
        # Ignored pixels go to one extra bin instead of being gathered out with a boolean mask:
        # no data-dependent shapes (no device sync on CUDA) and ~4x faster on CPU.
        codes = torch.where((target != ignore_index) & (target < n), target * n + pred, n * n)
        self.mat += torch.bincount(codes, minlength=n * n + 1)[: n * n].reshape(n, n)

    def reduce_from_all_processes(self) -> None:
        """Sum the matrices of all ranks (every rank saw a disjoint shard)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.mat)

    def compute(self, class_names: Sequence[str] | None = None) -> dict:
        """pixel_acc, mean_acc, miou and per-class acc / IoU (None for classes absent from gt and pred)."""
        mat = self.mat.double().cpu()
        tp = mat.diag()
        gt = mat.sum(1)
        pred = mat.sum(0)
        union = gt + pred - tp
        present = union > 0
        iou = torch.where(present, tp / union.clamp(min=1), torch.nan)
        acc = torch.where(gt > 0, tp / gt.clamp(min=1), torch.nan)
        total = mat.sum()
        names = list(class_names) if class_names else [str(i) for i in range(self.num_classes)]
        return {
            "pixel_acc": float(tp.sum() / total) if total > 0 else math.nan,
            "mean_acc": _nanmean(acc),
            "miou": _nanmean(iou),
            "per_class_iou": {name: _or_none(v) for name, v in zip(names, iou.tolist())},
            "per_class_acc": {name: _or_none(v) for name, v in zip(names, acc.tolist())},
            "pixels": int(total),
        }


def _nanmean(values: torch.Tensor) -> float:
    valid = values[~values.isnan()]
    return float(valid.mean()) if valid.numel() else math.nan


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def format_table(metrics: dict) -> str:
    """A plain-text table: one row per class, then the summary numbers."""
    names = list(metrics["per_class_iou"])
    width = max([len("class"), *map(len, names)])
    lines = [f"{'class':<{width}}  {'IoU':>7}  {'Acc':>7}"]
    for name in names:
        iou, acc = metrics["per_class_iou"][name], metrics["per_class_acc"][name]
        lines.append(f"{name:<{width}}  {_pct(iou):>7}  {_pct(acc):>7}")
    lines.append(
        f"pixel acc {_pct(metrics['pixel_acc'])}  mean acc {_pct(metrics['mean_acc'])}  mIoU {_pct(metrics['miou'])}"
    )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"
