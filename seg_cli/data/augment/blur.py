"""`gaussian_blur`: the image blurred with a sigma drawn per sample (the mask keeps its edges)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from seg_cli.data.augment.registry import Step, positive_int, register, value_range


@register("gaussian_blur")
class GaussianBlur(Step):
    """v2.GaussianBlur with a square `kernel_size` (odd) and sigma drawn uniformly from `sigma`."""

    p = 0.5

    def __init__(self, kernel_size: int = 5, sigma: Sequence[float] = (0.1, 2.0)) -> None:
        size = positive_int("kernel_size", kernel_size, odd=True)
        self.blur = v2.GaussianBlur(size, sigma=value_range("sigma", sigma, low=0.01))

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.blur(image), mask
