"""`rotate`: a random rotation about the centre (the target resampled as its type says)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from seg_cli.data.augment.registry import Step, register, value_range
from seg_cli.data.targets import paired


@register("rotate")
class RandomRotate(Step):
    """An angle drawn uniformly from `degrees`; the image is interpolated bilinearly and its uncovered corners
    filled with 0; the target is resampled and filled as its type says (seg_cli.data.targets): a class-index
    mask nearest-neighbour, its corners the ignore index, so they cost no loss."""

    p = 0.5
    from_dataset = {"ignore_index": "ignore_index"}

    def __init__(self, ignore_index: int, degrees: Sequence[float] = (-10.0, 10.0)) -> None:
        self.degrees = value_range("degrees", degrees, -180, 180)
        self.ignore_index = ignore_index

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angle = float(torch.empty(()).uniform_(*self.degrees))
        return paired(F.rotate, image, mask, angle, interpolation=InterpolationMode.BILINEAR,
                      fill=(0, self.ignore_index))
