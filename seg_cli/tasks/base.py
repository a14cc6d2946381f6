"""What every task answers; seg_cli.tasks.multiclass and seg_cli.tasks.binary fill it in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads only once a method runs (config checks read the plain attributes)
    import numpy as np
    import torch
    from torch import nn

    from seg_cli.data.targets import Target
    from seg_cli.reports.plot import Plot


class Task:
    """A segmentation task: its plain facts as class attributes, its tensor rules as methods.

    Logits are (1, C, H, W) at the label's size; labels and masks are (H, W).
    """

    name: str
    best_metrics: tuple[str, ...]  # what best.pt may be selected by; the first is `train.best_metric: auto`
    worst_key: tuple[str, bool]  # the per-image column that ranks the worst images, and whether higher is worse
    default_save: tuple[str, ...]  # `seg predict` outputs when save= is not given
    default_video_save: tuple[str, ...]  # the same for a video input (one video per kind)
    default_class_names: tuple[str, ...] | None = None  # None: class_0, class_1, ...
    one_foreground: bool = False  # masks hold background 0 and one foreground 1 (anything else is an error)
    thresholded: bool = False  # masks are cut from a probability at a threshold (predict threshold=, export)
    # the `task` tag of the loss classes that fit it: a task deriving from another (its outputs and labels)
    # inherits its losses along with the tag
    loss_tag: str
    # whether `plots` reads the per-image rows: training then collects them at every evaluation
    plots_read_rows: bool = False

    @property
    def target(self) -> Target:
        """The task's kind of mask (seg_cli.data.targets): how a loaded mask is checked and typed, resampled
        and padded by the transforms, collated and handed to the loss."""
        raise NotImplementedError

    def fits_loss(self, loss_class: type) -> bool:
        """Whether a loss class serves this task: it declares the task's `loss_tag` (`task = "binary"`) or none."""
        return getattr(loss_class, "task", None) in (None, self.loss_tag)

    def check_classes(self, num_classes: int) -> None:
        """Raise a ConfigError naming the fix when `dataset.num_classes` does not fit the task."""
        raise NotImplementedError

    def output_channels(self, num_classes: int) -> int:
        """Channels of the model output for a dataset of `num_classes`."""
        raise NotImplementedError

    def label_count(self, num_classes: int) -> int:
        """Labels a mask holds (ignore index aside)."""
        raise NotImplementedError

    def default_loss(self, ignore_index: int, aux_weight: float) -> nn.Module:
        """The loss of `loss=auto`."""
        raise NotImplementedError

    def build_scorer(self, num_classes: int, ignore_index: int, class_names: Sequence[str],
                     device: torch.device | str = "cpu", sod_normalize: str = "none",
                     table: Sequence[str] | None = None) -> Any:
        """The split's scorer (seg_cli.metrics.scorers)."""
        raise NotImplementedError

    def predicted_labels(self, logits: torch.Tensor, sod_normalize: str = "none") -> torch.Tensor:
        """(H, W) labels as the scorer counts them (binary: foreground where the scored probability >= 0.5)."""
        raise NotImplementedError

    def decode(self, logits: torch.Tensor, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """(probability, uint8 mask) arrays of `seg predict`'s files (multi-class: of the predicted class)."""
        raise NotImplementedError

    def mask_picture(self, mask: np.ndarray, colours: list | None = None) -> Any:
        """The PIL image of predict's `mask` output."""
        raise NotImplementedError

    def pictures(self, logits: torch.Tensor, target: torch.Tensor, colours: list | None = None,
                 sod_normalize: str = "none") -> list[torch.Tensor]:
        """(3, H, W) float pictures of one sample after its photo in panels and TensorBoard grids: the ground
        truth and the prediction (predicted_labels) in the class `colours`."""
        from seg_cli.data.palette import colorize

        return [colorize(target.cpu(), colours), colorize(self.predicted_labels(logits, sod_normalize).cpu(), colours)]

    def target_picture(self, target: torch.Tensor, colours: list | None = None) -> Any:
        """The PIL picture of one training target as `seg data show` draws it (a class map in its colours)."""
        from seg_cli.data.palette import palette_image

        return palette_image(target.numpy(), colours)

    def image_stats(self, logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int,
                    device: torch.device | str = "cpu", sod_normalize: str = "none") -> torch.Tensor:
        """One image's statistics vector (seg_cli.metrics.per_image)."""
        raise NotImplementedError

    def image_row(self, stats: list[float], class_names: Sequence[str]) -> dict[str, Any]:
        """One image's per_image.csv columns from its gathered statistics."""
        raise NotImplementedError

    def plots(self, metrics: dict[str, Any], rows: Sequence[dict[str, Any]] | None,
              class_names: Sequence[str]) -> list[Plot]:
        """The figures an evaluation leaves in its run folder (seg_cli.reports.safe.Plot: file name, draw
        function, its data), from the split's `metrics`, the per-image `rows` (None where not collected) and
        the class names. A plot whose data is missing (an old checkpoint's metrics) is left out."""
        return []
