"""The matting task's scorer and per-image rows, over seg_cli.metrics.matting's numpy metrics.

A sample is scored as `seg predict` saves it: p = round(sigmoid(logit) * 255) / 255. Its target is a float
(C, H, W) tensor: channel 0 the alpha in [0, 1], channel 1 the weight (valid where > 0.5), and optionally
channel 2 the dataset's trimap (0 background, 1 foreground, anything else unknown; negative everywhere when
the dataset ships none, and then it is generated from the alpha).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from seg_cli.metrics.matting import COUNT_KEYS, ERROR_NAMES, METRIC_KEYS, TRIMAP_KERNEL, image_metrics

STAT_KEYS = METRIC_KEYS + COUNT_KEYS  # the order of a matting_stats vector
BETA2 = 0.3  # as BinaryMetrics' F-beta
THOUSANDS = ("sad", "grad", "conn")  # sums / 1000, as the field prints them
HEADERS = ("SAD", "MSE", "MAD", "Grad", "Conn")  # of ERROR_NAMES


def saved_matte(logits: torch.Tensor) -> np.ndarray:
    """The uint8 (H, W) matte of (1, 1, H, W) logits, rounded as `seg predict` writes `_prob.png`."""
    prob = logits[0, 0].detach().float().sigmoid().cpu().numpy()
    return (prob * 255).round().astype(np.uint8)


def matting_stats(logits: torch.Tensor, target: torch.Tensor, trimap_kernel: int = TRIMAP_KERNEL) -> torch.Tensor:
    """One image's STAT_KEYS as a float64 CPU vector, NaN where a value is undefined."""
    channels = target.detach().float().cpu().numpy()
    shipped = len(channels) > 2 and bool((channels[2] >= 0).any())
    values = image_metrics(saved_matte(logits), channels[0], valid=channels[1] > 0.5,
                           trimap=channels[2] if shipped else None, trimap_kernel=trimap_kernel)
    return torch.tensor([math.nan if values[key] is None else values[key] for key in STAT_KEYS],
                        dtype=torch.float64)


def matting_row(stats: list[float]) -> dict[str, Any]:
    """The per_image.csv columns of one matting_stats vector: METRIC_KEYS, then the image's iou and f at
    alpha 0.5; None where undefined."""
    values = dict(zip(STAT_KEYS, stats))
    row: dict[str, Any] = {key: None if math.isnan(values[key]) else values[key] for key in METRIC_KEYS}
    iou, f = iou_and_f(*(values[key] for key in COUNT_KEYS))
    return {**row, "iou": iou, "f": f}


def iou_and_f(tp: float, fp: float, fn: float) -> tuple[float | None, float | None]:
    """Foreground IoU and F-beta (beta^2 = 0.3) of pixel counts; None for both when nothing was counted."""
    if tp + fp + fn == 0:
        return None, None
    precision, recall = (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)
    f = (1 + BETA2) * precision * recall / (BETA2 * precision + recall) if precision + recall else 0.0
    return tp / (tp + fp + fn), f


class MattingScorer:
    """Means over images of SAD, MSE, MAD, Grad and Conn, over whole images and trimap bands, and IoU and F
    of the pooled foreground counts at alpha 0.5 (as BinaryMetrics' iou_fg)."""

    def __init__(self, device: torch.device | str = "cpu", trimap_kernel: int = TRIMAP_KERNEL) -> None:
        self.trimap_kernel = trimap_kernel
        # images, then per metric its sum and the images that have it, then the pooled tp, fp, fn
        self.sums = torch.zeros(1 + 2 * len(METRIC_KEYS) + len(COUNT_KEYS), dtype=torch.float64, device=device)

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Add one sample: logits (1, 1, H, W) and target (C, H, W) at the same size."""
        stats = matting_stats(logits, target, self.trimap_kernel)
        metrics, counts = stats[: len(METRIC_KEYS)], stats[len(METRIC_KEYS) :]
        has = ~metrics.isnan()
        scored = torch.tensor([float(has[0])], dtype=torch.float64)  # no whole-image SAD: no valid pixel
        self.sums += torch.cat([scored, metrics.nan_to_num(0.0), has.double(), counts]).to(self.sums.device)

    def reduce_from_all_processes(self) -> None:
        """Sum the statistics of all ranks (every rank saw a disjoint shard)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.sums)

    def compute(self) -> dict:
        """METRIC_KEYS (means over the images that have a value, NaN if none), iou, f and images."""
        sums = self.sums.cpu().tolist()
        n = len(METRIC_KEYS)
        totals, counts = sums[1 : 1 + n], sums[1 + n : 1 + 2 * n]
        out = {key: total / count if count else math.nan for key, total, count in zip(METRIC_KEYS, totals, counts)}
        iou, f = iou_and_f(*sums[1 + 2 * n :])
        return {**out, "iou": math.nan if iou is None else iou, "f": math.nan if f is None else f,
                "images": int(sums[0])}

    @staticmethod
    def format(metrics: dict) -> str:
        return format_matting_table(metrics)


def format_matting_table(metrics: dict) -> str:
    """Whole-image and trimap rows of SAD, MSE, MAD, Grad and Conn, then IoU, F and the image count."""
    lines = [f"{'region':<11}" + "".join(f"{header:>10}" for header in HEADERS)]
    for label, suffix in (("whole image", ""), ("trimap", "_trimap")):
        lines.append(f"{label:<11}" + "".join(f"{_number(metrics.get(name + suffix), name):>10}"
                                              for name in ERROR_NAMES))
    lines.append("SAD, Grad, Conn: sums / 1000 per image; MSE, MAD: per pixel")
    lines.append(f"IoU @ 0.5 {_pct(metrics.get('iou'))}   F (b2=0.3) @ 0.5 {_pct(metrics.get('f'))}   "
                 f"images {metrics.get('images', 0)}")
    return "\n".join(lines)


def _number(value: float | None, name: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3f}" if name in THOUSANDS else f"{value:.5f}"


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"
