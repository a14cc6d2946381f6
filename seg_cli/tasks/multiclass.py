"""Multi-class segmentation: one output channel per class, the argmax is the prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seg_cli.errors import ConfigError
from seg_cli.tasks.base import Task

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from seg_cli.data.targets import Target
    from seg_cli.reports.plot import Plot


class MulticlassTask(Task):
    """Class-index masks 0..N-1, cross-entropy, a confusion matrix; best.pt by mIoU."""

    name = "multiclass"
    loss_tag = "multiclass"  # the losses that declare task = "multiclass"
    best_metrics = ("miou", "pixel_acc", "mean_acc", "mdice", "mf1", "mprecision", "mrecall", "fwiou")
    worst_key = ("miou", False)  # lowest per-image mIoU first
    default_save = ("mask", "overlay")
    default_video_save = ("overlay", "color")

    @property
    def target(self) -> Target:
        from seg_cli.data.targets import CLASS_TARGET

        return CLASS_TARGET

    def check_classes(self, num_classes: int) -> None:
        if num_classes < 2:
            raise ConfigError(
                f"dataset.num_classes={num_classes} with dataset.task=multiclass: give the number of classes, "
                "background included (>= 2), e.g. dataset.num_classes=3, or dataset.task=binary for one foreground "
                "class"
            )

    def output_channels(self, num_classes: int) -> int:
        return num_classes

    def label_count(self, num_classes: int) -> int:
        return num_classes

    def default_loss(self, ignore_index: int, aux_weight: float) -> nn.Module:
        from seg_cli.losses.cross_entropy import SegmentationLoss

        return SegmentationLoss(ignore_index=ignore_index, aux_weight=aux_weight)

    def build_scorer(self, num_classes: int, ignore_index: int, class_names: Sequence[str],
                     device: torch.device | str = "cpu", sod_normalize: str = "none",
                     table: Sequence[str] | None = None) -> Any:
        from seg_cli.metrics.confusion import DEFAULT_TABLE
        from seg_cli.metrics.scorers import MulticlassScorer

        return MulticlassScorer(num_classes, ignore_index, class_names, device,
                                DEFAULT_TABLE if table is None else table)

    def predicted_labels(self, logits: torch.Tensor, sod_normalize: str = "none") -> torch.Tensor:
        from seg_cli.metrics.scorers import predicted_labels

        return predicted_labels(logits)

    def decode(self, logits: torch.Tensor, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        probs = logits[0].float().softmax(0)
        prob, labels = (t.cpu().numpy() for t in probs.max(0))
        return prob, labels.astype(np.uint8)

    def mask_picture(self, mask: np.ndarray, colours: list | None = None) -> Any:
        from seg_cli.data.palette import palette_image

        return palette_image(mask, colours)

    def image_stats(self, logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int,
                    device: torch.device | str = "cpu", sod_normalize: str = "none") -> torch.Tensor:
        from seg_cli.metrics.per_image import multiclass_stats

        return multiclass_stats(logits, target, num_classes, ignore_index, device)

    def image_row(self, stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
        from seg_cli.metrics.per_image import multiclass_row

        return multiclass_row(stats, class_names)

    def plots(self, metrics: dict[str, Any], rows: Sequence[dict[str, Any]] | None,
              class_names: Sequence[str]) -> list[Plot]:
        """confusion_matrix.png (row-normalised) and per_class.png (IoU, accuracy and pixel share by class)."""
        from seg_cli.reports.class_bars import draw_per_class, per_class_data
        from seg_cli.reports.confusion_plot import confusion_data, draw_confusion
        from seg_cli.reports.plot import Plot

        plots = []
        if metrics.get("confusion_matrix") is not None:
            names = list(metrics.get("per_class_iou") or class_names)  # the names the scorer counted under
            plots.append(Plot("confusion_matrix.png", draw_confusion, confusion_data(metrics["confusion_matrix"],
                                                                                      names)))
        if metrics.get("per_class_iou") is not None:
            plots.append(Plot("per_class.png", draw_per_class, per_class_data(metrics)))
        return plots


TASK = MulticlassTask()
