"""Per-image results of one evaluation pass: `per_image.csv` and the worst images.

Each image gets the statistics the split's scorer sums, from the same logits and label, so the labelled
pixels of all rows add up to the confusion matrix's row sums. Multi-class rows: pixel accuracy, the mIoU
over the classes present in the image (ground truth or prediction; the split's rule) and labelled pixels
per class. Binary rows: pixel accuracy, MAE, F-beta (beta^2 = 0.3), Dice and foreground IoU at threshold
0.5, and labelled pixels per class. Undefined values (no labelled pixel, no foreground) are None.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from seg_cli.metrics.confusion import ConfusionMatrix
from seg_cli.metrics.scorers import predicted_labels
from seg_cli.tasks import get_task

BETA2 = 0.3  # as BinaryMetrics' F-beta


class PerImageResults:
    """Collects one statistics vector per image (on the device, until `gather`)."""

    def __init__(self, task: str, num_classes: int, ignore_index: int = 255, device: torch.device | str = "cpu",
                 sod_normalize: str = "none") -> None:
        self.task, self.num_classes, self.ignore_index = get_task(task), num_classes, ignore_index
        self.device, self.sod_normalize = device, sod_normalize
        self.indices: list[int] = []
        self.stats: list[torch.Tensor] = []
        self.gathered: list[tuple[int, list[float]]] | None = None

    def update(self, index: int, logits: torch.Tensor, target: torch.Tensor, stats: torch.Tensor | None = None
               ) -> None:
        """Add sample `index` (its dataset index): logits (1, C, H, W) at the label's size, label (H, W) (or the
        task's target channels); `stats`: the task's image_stats of them where a scorer computed them already."""
        if stats is None:
            stats = self.task.image_stats(logits, target, self.num_classes, self.ignore_index, self.device,
                                          self.sod_normalize)
        self.indices.append(index)
        self.stats.append(stats)

    def gather(self) -> None:
        """Collect every rank's images (all ranks must call it, as they do reduce_from_all_processes)."""
        import torch.distributed as dist

        mine = list(zip(self.indices, torch.stack(self.stats).cpu().tolist())) if self.stats else []
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(parts, mine)
            mine = [item for part in parts for item in part]
        self.gathered = sorted(mine)

    def rows(self, sample_files: Callable[[int], Mapping[str, str] | str], class_names: Sequence[str]
             ) -> list[dict[str, Any]]:
        """One dict per image in dataset order: index, its files (`dataset.sample_files`: image, and mask
        where there is one; a plain name is the image column), the metrics and `pixels_<class>` labelled
        pixels."""
        if self.gathered is None:
            self.gather()
        return [{"index": index, **_file_columns(sample_files(index)), **self.task.image_row(stats, class_names)}
                for index, stats in self.gathered]


def _file_columns(files: Mapping[str, str] | str) -> dict[str, str]:
    """The file columns of one row: `image` first (what the row is about), then the others (`mask`)."""
    if isinstance(files, str):
        return {"image": files}
    return {"image": files["image"], **{k: v for k, v in files.items() if k != "image"}}


def multiclass_stats(logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """[true positives, ground truth, predicted] pixels per class of one image, as one vector."""
    confmat = ConfusionMatrix(num_classes, device)
    confmat.update(target, predicted_labels(logits), ignore_index)
    mat = confmat.mat
    return torch.cat([mat.diag(), mat.sum(1), mat.sum(0)]).double()


def binary_stats(prob: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """[background, foreground, tp, fp, fn, tn, sum |prob - target|] of one (H, W) map at threshold 0.5."""
    valid = target != ignore_index
    fg, bg = valid & (target == 1), valid & (target != 1)
    positive = prob >= 0.5
    counts = [bg.sum(), fg.sum(), (positive & fg).sum(), (positive & bg).sum(), (~positive & fg).sum(),
              (~positive & bg).sum(), ((prob.double() - fg.double()).abs() * valid).sum()]
    return torch.stack([c.double() for c in counts])


def multiclass_row(stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
    n = len(stats) // 3
    tp, gt, pred = stats[:n], stats[n : 2 * n], stats[2 * n :]
    labelled = sum(gt)
    ious = [t / (g + p - t) for t, g, p in zip(tp, gt, pred) if g + p > 0]
    return {"pixel_acc": sum(tp) / labelled if labelled else None,
            "miou": sum(ious) / len(ious) if ious else None,
            **{f"pixels_{name}": int(g) for name, g in zip(class_names, gt)}}


def binary_row(stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
    bg, fg, tp, fp, fn, tn, abs_error = stats
    labelled = bg + fg
    precision, recall = (tp / (tp + fp) if tp + fp else 0.0), (tp / fg if fg else 0.0)
    f_beta = (1 + BETA2) * precision * recall / (BETA2 * precision + recall) if precision + recall else 0.0
    return {"pixel_acc": (tp + tn) / labelled if labelled else None,
            "mae": abs_error / labelled if labelled else None,
            "f_at_05": f_beta if labelled else None,
            "dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
            "iou_fg": tp / (tp + fp + fn) if tp + fp + fn else None,
            **{f"pixels_{name}": int(count) for name, count in zip(class_names, (bg, fg))}}


def worst_rows(rows: Sequence[dict[str, Any]], n: int, task: str) -> list[dict[str, Any]]:
    """The `n` worst images by the task's worst_key (multi-class: lowest mIoU; binary: highest MAE; ties:
    dataset order); images without a value are left out."""
    key, higher_is_worse = get_task(task).worst_key
    scored = [row for row in rows if row.get(key) is not None and math.isfinite(row[key])]
    scored.sort(key=lambda row: (-row[key] if higher_is_worse else row[key], row["index"]))
    return scored[: max(0, n)]


def write_per_image_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """`rows` as CSV, one column per key; None becomes an empty cell, floats keep 6 decimals."""
    columns = list(rows[0]) if rows else ["index", "image"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else f"{v:.6f}" if isinstance(v, float) else v for k, v in row.items()})
