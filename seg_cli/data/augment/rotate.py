"""`rotate`: a random rotation about the centre, the mask nearest-neighbour."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from seg_cli.data.augment.registry import Step, register, value_range


@register("rotate")
class RandomRotate(Step):
    """An angle drawn uniformly from `degrees`; the image is interpolated bilinearly and its uncovered corners
    filled with 0, the mask nearest-neighbour with the ignore index (so the corners cost no loss)."""

    p = 0.5
    from_dataset = {"ignore_index": "ignore_index"}

    def __init__(self, ignore_index: int, degrees: Sequence[float] = (-10.0, 10.0)) -> None:
        self.degrees = value_range("degrees", degrees, -180, 180)
        self.ignore_index = ignore_index

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angle = float(torch.empty(()).uniform_(*self.degrees))
        return (F.rotate(image, angle, interpolation=InterpolationMode.BILINEAR, fill=0),
                F.rotate(mask, angle, interpolation=InterpolationMode.NEAREST, fill=self.ignore_index))
