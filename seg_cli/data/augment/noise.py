"""`gaussian_noise`: zero-mean noise added to the image, its std drawn per sample."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision import tv_tensors

from seg_cli.data.augment.registry import Step, register, value_range


@register("gaussian_noise")
class GaussianNoise(Step):
    """Per-pixel noise of a std drawn uniformly from `std`, on the [0, 1] scale (x 255 for 8-bit images),
    clipped to the valid range. Written here rather than v2.GaussianNoise, which takes float images only."""

    p = 0.5

    def __init__(self, std: Sequence[float] = (0.01, 0.03)) -> None:
        self.std = value_range("std", std, 0, 1)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sigma = float(torch.empty(()).uniform_(*self.std))
        noise = torch.randn(image.shape)
        if image.dtype == torch.uint8:
            noisy = noise.mul_(sigma * 255).add_(image).round_().clamp_(0, 255).to(torch.uint8)
        else:
            noisy = noise.mul_(sigma).add_(image).clamp_(0, 1)  # a new tensor: a cached input stays as loaded
        return tv_tensors.wrap(noisy, like=image), mask
