"""`photometric` (brightness, contrast, saturation, hue) and `grayscale`: the image only, RGB only."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from seg_cli.data.augment.registry import Step, register, rgb_only, value_range


@register("photometric")
class PhotometricDistortion(Step):
    """v2.ColorJitter: a factor for brightness, contrast and saturation and a hue shift, each drawn from its
    range and applied in a random order (MMSegmentation's PhotoMetricDistortion, as factors); null leaves one
    out. Runs on the crop, before normalisation."""

    p = 0.5
    from_dataset = {"in_channels": "in_channels"}

    def __init__(self, in_channels: int, brightness: Sequence[float] | None = (0.875, 1.125),
                 contrast: Sequence[float] | None = (0.5, 1.5), saturation: Sequence[float] | None = (0.5, 1.5),
                 hue: Sequence[float] | None = (-0.05, 0.05)) -> None:
        rgb_only("photometric", in_channels)
        factors = {key: None if value is None else value_range(key, value, low=0)
                   for key, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation))}
        shift = None if hue is None else value_range("hue", hue, -0.5, 0.5)
        self.jitter = v2.ColorJitter(**factors, hue=shift)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.jitter(image), mask


@register("grayscale")
class Grayscale(Step):
    """The image's luma in all three channels (colour must not be what tells classes apart)."""

    p = 0.1
    from_dataset = {"in_channels": "in_channels"}

    def __init__(self, in_channels: int) -> None:
        rgb_only("grayscale", in_channels)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.rgb_to_grayscale(image, num_output_channels=3), mask
