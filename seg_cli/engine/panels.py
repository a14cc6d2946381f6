"""Panels of image | ground truth | prediction for the worst images of an evaluation (PNG files, TensorBoard).

Which images are worst comes from the per-image rows (seg_cli.metrics.per_image.worst_rows): multi-class by
the lowest per-image mIoU, binary by the highest MAE.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seg_cli.engine.inference import predict_logits
from seg_cli.engine.tensorboard import denormalize
from seg_cli.metrics.per_image import worst_rows
from seg_cli.tasks import get_task

GAP = 2  # white pixels between the three pictures of a panel
TB_HEIGHT = 160  # panel height in TensorBoard (the saved PNGs keep the label's resolution)


@torch.inference_mode()
def draw_panel(model: nn.Module, dataset, index: int, device: torch.device, task: str,
               infer: dict[str, Any] | None = None, sod_normalize: str = "none") -> torch.Tensor:
    """(3, H, kW + gaps) float image of sample `index` at its label's size: the photo, then the task's pictures
    (Task.pictures: the ground truth and the prediction in the dataset's class colours, binary foreground where
    the scored probability >= 0.5; matting: ground-truth alpha, predicted alpha and their error)."""
    model.eval()
    image, mask = dataset[index]
    rules = get_task(task)  # the task decides channels and the decode rule
    num_classes = rules.output_channels(dataset.num_classes)
    logits = predict_logits(model, image[None].to(device), num_classes=num_classes, **(infer or {})).float()
    logits = nn.functional.interpolate(logits, size=mask.shape[-2:], mode="bilinear", align_corners=False)
    normalize = getattr(dataset.transforms, "normalize", None)  # the dataset's own mean and std
    photo = nn.functional.interpolate(denormalize(image, normalize)[None], size=mask.shape[-2:], mode="bilinear",
                                      align_corners=False)[0].clamp(0, 1)
    colours = getattr(getattr(dataset, "labels", None), "palette", None)
    gap = torch.ones(3, mask.shape[-2], GAP)
    pictures = [photo, *rules.pictures(logits, mask, colours, sod_normalize)]
    return torch.cat([part for picture in pictures for part in (gap, picture)][1:], dim=2)


def save_worst_panels(out_dir: Path, model: nn.Module, dataset, device: torch.device,
                      rows: Sequence[dict[str, Any]], n: int, task: str, infer: dict[str, Any] | None = None,
                      sod_normalize: str = "none") -> list[Path]:
    """Write the `n` worst images' panels as out_dir/rank01_<stem>.png, ...; returns the paths."""
    from torchvision.utils import save_image

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for rank, row in enumerate(worst_rows(rows, n, task), start=1):
        path = out_dir / f"rank{rank:02d}_{_safe_stem(row['image'])}.png"
        save_image(draw_panel(model, dataset, row["index"], device, task, infer, sod_normalize), path)
        paths.append(path)
    return paths


def log_worst_panels(writer, tag: str, model: nn.Module, dataset, device: torch.device,
                     per_image_rows: Sequence[dict[str, Any]], n: int, step: int, task: str, *,
                     infer: dict[str, Any] | None = None, sod_normalize: str = "none") -> None:
    """Add the `n` worst images' panels, worst first, as one TensorBoard image `tag` at `step`."""
    from torchvision.utils import make_grid

    panels = [_to_height(draw_panel(model, dataset, row["index"], device, task, infer, sod_normalize), TB_HEIGHT)
              for row in worst_rows(per_image_rows, n, task)]
    if not panels:
        return
    width = max(p.shape[-1] for p in panels)  # images differ in aspect ratio: pad to one width
    panels = [nn.functional.pad(p, (0, width - p.shape[-1]), value=1.0) for p in panels]
    writer.add_image(tag, make_grid(panels, nrow=1, padding=2, pad_value=1.0), step)


def _to_height(panel: torch.Tensor, height: int) -> torch.Tensor:
    width = max(1, round(panel.shape[-1] * height / panel.shape[-2]))
    return nn.functional.interpolate(panel[None], size=(height, width), mode="nearest")[0]


def _safe_stem(name: str) -> str:
    """A file-name-safe stem of a sample name (a path, or e.g. synthetic/val/00003)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(name)).stem) or "image"
