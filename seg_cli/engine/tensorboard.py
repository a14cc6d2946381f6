"""What goes to TensorBoard besides scalars: sample predictions, the confusion matrix, hyper-parameters."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seg_cli.data.bands import rgb_view
from seg_cli.data.palette import colorize
from seg_cli.data.transforms import IMAGENET_MEAN, IMAGENET_STD, NormalizeImage
from seg_cli.models.contract import model_outputs
from seg_cli.tasks import get_task

CELL_PIXELS = 16  # each confusion-matrix cell becomes a CELL_PIXELS x CELL_PIXELS square


def denormalize(image: torch.Tensor, normalize: NormalizeImage | None = None) -> torch.Tensor:
    """A model input as a (3, H, W) picture in [0, 1]: grey replicated, N bands by their RGB view."""
    pixels = (normalize or NormalizeImage(IMAGENET_MEAN, IMAGENET_STD)).invert(image.cpu().float())
    if pixels.shape[0] in (1, 3):
        return pixels.expand(3, -1, -1).clamp(0, 1)
    return torch.from_numpy(rgb_view(pixels)).permute(2, 0, 1).float() / 255


@torch.inference_mode()
def sample_grid(model: nn.Module, dataset, device: torch.device, count: int, task: str) -> torch.Tensor:
    """Rows of input | ground truth | prediction (the task's pictures: matting adds the error) for the first
    `count` samples, resized to one height."""
    from torchvision.utils import make_grid

    model.eval()
    rules = get_task(task)  # the task decides channels and the decode rule
    tiles = []
    normalize = getattr(dataset.transforms, "normalize", None)  # the dataset's own mean and std
    colours = getattr(getattr(dataset, "labels", None), "palette", None)
    for index in range(min(count, len(dataset))):
        image, mask = dataset[index]
        logits = model_outputs(model(image[None].to(device)))["out"].float()
        logits = nn.functional.interpolate(logits, size=mask.shape[-2:], mode="bilinear", align_corners=False)
        photo = nn.functional.interpolate(denormalize(image, normalize)[None], size=mask.shape[-2:],
                                          mode="bilinear", align_corners=False)[0]
        row = [photo, *rules.pictures(logits, mask, colours)]
        tiles += [_fit(tile) for tile in row]
    width = max(t.shape[-1] for t in tiles)  # samples differ in aspect ratio: pad to one width
    tiles = [nn.functional.pad(t, (0, width - t.shape[-1]), value=1.0) for t in tiles]
    return make_grid(tiles, nrow=len(row), padding=2, pad_value=1.0)


def _fit(tile: torch.Tensor, height: int = 128) -> torch.Tensor:
    width = max(1, round(tile.shape[-1] * height / tile.shape[-2]))
    return nn.functional.interpolate(tile[None], size=(height, min(width, 2 * height)), mode="nearest")[0]


def confusion_image(matrix: torch.Tensor) -> torch.Tensor:
    """Row-normalised confusion matrix (rows = ground truth) as a (1, H, W) grey image; white = 1."""
    counts = matrix.double().cpu()
    normalised = counts / counts.sum(1, keepdim=True).clamp(min=1)
    return normalised.float().repeat_interleave(CELL_PIXELS, 0).repeat_interleave(CELL_PIXELS, 1)[None]


def log_hparams(writer, hparams: dict[str, Any], metrics: dict[str, Any]) -> None:
    """HParams entry so `tensorboard --logdir multirun/` compares runs by their overrides and results."""
    scalars = {f"hparam/{k}": float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}
    plain = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in hparams.items()}
    writer.add_hparams(plain or {"run": "default"}, scalars, run_name=".")
