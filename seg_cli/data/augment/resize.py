"""`resize`: random scale resize, the first step of the torchvision reference recipe."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from seg_cli.choices import RESIZE_MODES
from seg_cli.data.augment.registry import Step, positive_int, register
from seg_cli.data.targets import paired
from seg_cli.errors import ConfigError
from seg_cli.values import scale_range as factor_range


@register("resize")
class RandomResize(Step):
    """mode=shorter: the shorter side to a size drawn from [scale_range] x base_size (aspect ratio kept).
    mode=square: both sides to base_size first, then (unless scale_range is [1, 1]) the side drawn likewise.

    The draw is v2.RandomResize's (one randint in [low, high]), so `augment=default` repeats
    SegmentationPresetTrain exactly; the target is resized as its type says (a class-index mask
    nearest-neighbour, seg_cli.data.targets).
    """

    from_dataset = {"base_size": "base_size", "scale_range": "scale_range", "mode": "resize"}

    def __init__(self, base_size: int, scale_range: Sequence[float], mode: str) -> None:
        base = positive_int("base_size", base_size)
        low, high = factor_range("scale_range", scale_range)
        if mode not in RESIZE_MODES:
            raise ConfigError(f"mode={mode!r} is not allowed; choose from: {', '.join(RESIZE_MODES)}")
        self.min_size, self.max_size = int(low * base), int(high * base)
        self.square = [base, base] if mode == "square" else None
        self.random = mode == "shorter" or (self.min_size, self.max_size) != (base, base)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.square is not None:
            image, mask = resized(image, mask, self.square)
        if self.random:
            image, mask = resized(image, mask, int(torch.randint(self.min_size, self.max_size + 1, ())))
        return image, mask


def resized(image: torch.Tensor, mask: torch.Tensor, size: int | list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Image bilinear with antialiasing (as v2.Resize); the target's kernel picks its own resampling."""
    return paired(F.resize, image, mask, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
