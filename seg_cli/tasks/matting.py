"""Alpha matting: one output channel, alpha = sigmoid(logit); targets are soft mattes in [0, 1] (seg_cli.data.alpha)
scored by the matting literature's SAD, MSE, MAD, Grad and Conn (seg_cli.metrics.matting), lower is better."""

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


class MattingTask(Task):
    """Soft alpha from one channel; L1 + transition-band + Laplacian loss; best.pt by the lowest SAD."""

    name = "matting"
    loss_tag = "matting"  # the losses that declare task = "matting"
    best_metrics = ("sad", "mse", "mad", "grad", "conn", "sad_trimap", "mse_trimap", "mad_trimap", "grad_trimap",
                    "conn_trimap", "iou", "f")
    worst_key = ("sad", True)  # highest SAD first
    default_save = ("alpha", "cutout", "composite")
    default_video_save = ("alpha", "composite")
    default_class_names = ("background", "foreground")
    plots_read_rows = True  # sad_hist.png; the rows come free with the scorer's statistics

    @property
    def target(self) -> Target:
        from seg_cli.data.alpha import ALPHA_TARGET

        return ALPHA_TARGET

    def check_classes(self, num_classes: int) -> None:
        if num_classes != 1:
            raise ConfigError(f"dataset.num_classes={num_classes} with dataset.task=matting: a matting model has one "
                              "output channel (the alpha); set dataset.num_classes=1")

    def output_channels(self, num_classes: int) -> int:
        return 1

    def label_count(self, num_classes: int) -> int:
        return 2  # background and foreground: the names of the alpha's two ends

    def default_loss(self, ignore_index: int, aux_weight: float) -> nn.Module:
        from seg_cli.losses.matting import MattingLoss

        return MattingLoss(aux_weight=aux_weight)

    def build_scorer(self, num_classes: int, ignore_index: int, class_names: Sequence[str],
                     device: torch.device | str = "cpu", sod_normalize: str = "none",
                     table: Sequence[str] | None = None) -> Any:
        from seg_cli.metrics.matting_scorer import MattingScorer

        return MattingScorer(device)

    def predicted_labels(self, logits: torch.Tensor, sod_normalize: str = "none") -> torch.Tensor:
        return (logits[0, 0].float().sigmoid() >= 0.5).long()

    def decode(self, logits: torch.Tensor, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        alpha = logits[0, 0].float().sigmoid().cpu().numpy()
        return alpha, (alpha >= 0.5).astype(np.uint8)

    def mask_picture(self, mask: np.ndarray, colours: list | None = None) -> Any:
        from PIL import Image

        return Image.fromarray(mask * 255, mode="L")

    def pictures(self, logits: torch.Tensor, target: torch.Tensor, colours: list | None = None,
                 sod_normalize: str = "none") -> list[torch.Tensor]:
        """Ground-truth alpha, predicted alpha (8-bit, as saved), and |error| in red (white: 0)."""
        import torch

        truth = target[0].float().cpu()
        alpha = (logits[0, 0].float().sigmoid().cpu() * 255).round() / 255
        error = (alpha - truth).abs()
        red = torch.stack([torch.ones_like(error), 1 - error, 1 - error])
        return [truth.expand(3, -1, -1), alpha.expand(3, -1, -1), red]

    def target_picture(self, target: torch.Tensor, colours: list | None = None) -> Any:
        """The alpha as grey."""
        from PIL import Image

        return Image.fromarray((target[0].float().clamp(0, 1) * 255).round().byte().numpy(), mode="L")

    def image_stats(self, logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int,
                    device: torch.device | str = "cpu", sod_normalize: str = "none") -> torch.Tensor:
        from seg_cli.metrics.matting_scorer import matting_stats

        return matting_stats(logits, target)

    def image_row(self, stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
        from seg_cli.metrics.matting_scorer import matting_row

        return matting_row(stats)

    def plots(self, metrics: dict[str, Any], rows: Sequence[dict[str, Any]] | None,
              class_names: Sequence[str]) -> list[Plot]:
        """sad_hist.png: the per-image SAD distribution (the worst images are eval.worst's panels)."""
        from seg_cli.reports.matting_plots import draw_sad_hist, sad_data
        from seg_cli.reports.plot import Plot

        return [Plot("sad_hist.png", draw_sad_hist, sad_data(rows, metrics))] if rows else []


TASK = MattingTask()
