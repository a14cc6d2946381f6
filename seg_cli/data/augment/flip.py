"""`hflip` and `vflip`: mirror image and mask together (the pipeline draws the coin)."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from seg_cli.data.augment.registry import Step, register
from seg_cli.data.targets import paired


@register("hflip")
class HorizontalFlip(Step):
    """Left-right mirror; p defaults to dataset.hflip_prob. Done on the crop: the same distribution as
    flipping the resized image (the crop position is uniform, padding symmetric), on up to 4x fewer pixels."""

    p = 0.5
    from_dataset = {"p": "hflip_prob"}

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return paired(F.horizontal_flip, image, mask)


@register("vflip")
class VerticalFlip(Step):
    """Top-bottom mirror (aerial, microscopy and medical images, where up has no meaning)."""

    p = 0.5

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return paired(F.vertical_flip, image, mask)
