"""One interface over the multi-class and binary metrics, so the loops need not know the task.

A scorer takes the logits of one sample already at its label's size, (1, C, H, W), and the label (H, W).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seg_cli.choices import SOD_NORMALIZE
from seg_cli.metrics.binary import BinaryMetrics, format_binary_table
from seg_cli.metrics.confusion import DEFAULT_TABLE, ConfusionMatrix, format_table


class MulticlassScorer:
    """argmax over classes into a confusion matrix; `table` names the columns `format` prints (eval.metrics)."""

    def __init__(self, num_classes: int, ignore_index: int, class_names: Sequence[str],
                 device: torch.device | str = "cpu", table: Sequence[str] = DEFAULT_TABLE) -> None:
        self.confmat = ConfusionMatrix(num_classes, device)
        self.ignore_index, self.class_names, self.table = ignore_index, list(class_names), tuple(table)

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.confmat.update(target, predicted_labels(logits), self.ignore_index)

    def reduce_from_all_processes(self) -> None:
        self.confmat.reduce_from_all_processes()

    def compute(self) -> dict:
        """The metrics and the raw `confusion_matrix` (rows ground truth, columns prediction, pixel counts;
        ignored pixels never counted), which confusion_matrix.png draws."""
        return {**self.confmat.compute(self.class_names), "confusion_matrix": self.confmat.mat.cpu().tolist()}

    def format(self, metrics: dict) -> str:
        return format_table(metrics, self.table)


class BinaryScorer:
    """Sigmoid of the single output channel into MAE / F-measure / Dice / IoU statistics.

    normalize="none" scores the raw probabilities. "minmax" is the convention of salient-object papers
    (U2-Net's test script, the common SOD evaluation toolboxes): they score saved 8-bit maps, each
    min-max normalised to [0, 1]; so each map is rounded to 8 bits, as `seg predict` writes `_prob.png`,
    then stretched to [0, 1] (a constant map stays as it is).
    """

    def __init__(self, ignore_index: int, device: torch.device | str = "cpu", normalize: str = "none") -> None:
        if normalize not in SOD_NORMALIZE:
            raise ValueError(f"normalize={normalize!r} is not one of {', '.join(SOD_NORMALIZE)}")
        self.metrics = BinaryMetrics(device=device)
        self.ignore_index, self.normalize = ignore_index, normalize

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.metrics.update(foreground_probability(logits, self.normalize), target[None], self.ignore_index)

    def reduce_from_all_processes(self) -> None:
        self.metrics.reduce_from_all_processes()

    def compute(self) -> dict:
        """The metrics, and their `curve` over the 256 thresholds (BinaryMetrics.curve: pr_curve.png, f_curve.png)."""
        return {**self.metrics.compute(), "sod_normalize": self.normalize, "curve": self.metrics.curve()}

    @staticmethod
    def format(metrics: dict) -> str:
        return format_binary_table(metrics)


def predicted_labels(logits: torch.Tensor) -> torch.Tensor:
    """(H, W) class indices of (1, C, H, W) multi-class logits."""
    # max(1).indices equals argmax(1) (first index on ties) and is ~30x faster on CPU for NCHW
    # logits: argmax reduces over the strided class dim element by element (scripts/bench_knobs.py confmat).
    return logits.max(1).indices[0]


def foreground_probability(logits: torch.Tensor, normalize: str = "none") -> torch.Tensor:
    """(1, H, W) foreground probabilities of (1, 1, H, W) binary logits, as BinaryScorer scores them."""
    prob = torch.sigmoid(logits[:, 0].float())
    if normalize == "minmax":
        prob = minmax_per_map((prob * 255).round() / 255)
    return prob


def minmax_per_map(prob: torch.Tensor) -> torch.Tensor:
    """Each (H, W) map of a (B, H, W) batch stretched to [0, 1]; constant maps are left unchanged."""
    flat = prob.flatten(1)
    low, high = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
    span = high - low
    return torch.where(span > 0, (prob - low) / span.clamp(min=1e-12), prob)


def build_scorer(task: str, num_classes: int, ignore_index: int, class_names: Sequence[str],
                 device: torch.device | str = "cpu", sod_normalize: str = "none",
                 table: Sequence[str] = DEFAULT_TABLE) -> MulticlassScorer | BinaryScorer:
    """The scorer of the task named `task` (seg_cli.tasks: Task.build_scorer); `sod_normalize` (binary only)
    picks the saliency convention, see BinaryScorer; `table` (multi-class only, eval.metrics) the columns of its
    printed table."""
    from seg_cli.tasks import get_task

    return get_task(task).build_scorer(num_classes, ignore_index, class_names, device, sod_normalize, table)

