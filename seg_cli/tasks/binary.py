"""Binary (foreground / background) segmentation: one output channel, the sigmoid is the foreground
probability; masks hold 0 and 1, and predicted masks are cut at a threshold."""

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


class BinaryTask(Task):
    """One output channel, two labels; BCE, MAE / F-measure metrics; best.pt by max F."""

    name = "binary"
    loss_tag = "binary"  # the losses that declare task = "binary"
    best_metrics = ("max_f", "mae", "mean_f", "dice", "iou_fg")
    # highest MAE first: defined for every image with labelled pixels, unlike Dice / IoU without foreground
    worst_key = ("mae", True)
    default_save = ("prob", "mask", "cutout")
    default_video_save = ("alpha", "composite")
    default_class_names = ("background", "foreground")
    one_foreground = True
    thresholded = True

    @property
    def target(self) -> Target:
        from seg_cli.data.targets import CLASS_TARGET

        return CLASS_TARGET  # labels 0 and 1 (a 0/255 file is read as them)

    def check_classes(self, num_classes: int) -> None:
        if num_classes != 1:
            raise ConfigError(
                f"dataset.num_classes={num_classes} with dataset.task=binary: a binary model has one output "
                f"channel; for {num_classes} classes set dataset.task=multiclass (keeping "
                f"dataset.num_classes={num_classes}), for one foreground class set dataset.num_classes=1"
            )

    def output_channels(self, num_classes: int) -> int:
        return 1

    def label_count(self, num_classes: int) -> int:
        return 2  # one output channel (num_classes: 1), but masks hold two labels, 0 and 1

    def default_loss(self, ignore_index: int, aux_weight: float) -> nn.Module:
        from seg_cli.losses.binary import BinarySegmentationLoss

        return BinarySegmentationLoss(ignore_index=ignore_index, aux_weight=aux_weight)

    def build_scorer(self, num_classes: int, ignore_index: int, class_names: Sequence[str],
                     device: torch.device | str = "cpu", sod_normalize: str = "none",
                     table: Sequence[str] | None = None) -> Any:
        from seg_cli.metrics.scorers import BinaryScorer

        return BinaryScorer(ignore_index, device, sod_normalize)

    def predicted_labels(self, logits: torch.Tensor, sod_normalize: str = "none") -> torch.Tensor:
        from seg_cli.metrics.scorers import foreground_probability

        return (foreground_probability(logits, sod_normalize)[0] >= 0.5).long()

    def decode(self, logits: torch.Tensor, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        prob = logits[0, 0].float().sigmoid().cpu().numpy()
        return prob, (prob >= threshold).astype(np.uint8)

    def mask_picture(self, mask: np.ndarray, colours: list | None = None) -> Any:
        from PIL import Image

        return Image.fromarray(mask * 255, mode="L")  # 0/255, whatever the palette

    def image_stats(self, logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int,
                    device: torch.device | str = "cpu", sod_normalize: str = "none") -> torch.Tensor:
        from seg_cli.metrics.per_image import binary_stats
        from seg_cli.metrics.scorers import foreground_probability

        return binary_stats(foreground_probability(logits, sod_normalize)[0], target, ignore_index)

    def image_row(self, stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
        from seg_cli.metrics.per_image import binary_row

        return binary_row(stats, class_names)

    def plots(self, metrics: dict[str, Any], rows: Sequence[dict[str, Any]] | None,
              class_names: Sequence[str]) -> list[Plot]:
        """pr_curve.png and f_curve.png, from the metrics' curve over the 256 thresholds."""
        from seg_cli.reports.binary_curves import curve_data, draw_f_curve, draw_pr_curve
        from seg_cli.reports.plot import Plot

        if not metrics.get("curve"):
            return []
        data = curve_data(metrics)
        return [Plot("pr_curve.png", draw_pr_curve, data), Plot("f_curve.png", draw_f_curve, data)]


TASK = BinaryTask()
