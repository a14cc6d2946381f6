"""`random_crop` (with MMSegmentation's cat_max_ratio) and `center_crop`, padding the image with 0 and the
target with the ignore index (read by the target's type, seg_cli.data.targets)."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from seg_cli.data.augment.registry import Step, is_number, positive_int, register
from seg_cli.data.targets import paired
from seg_cli.errors import ConfigError
from seg_cli.values import size_pair


@register("random_crop")
class RandomCrop(Step):
    """A crop of `size` at a uniform position; an image smaller than the crop is first padded on both sides
    by the shortfall, as v2.RandomCrop(pad_if_needed=True) does (and with the same draws, so
    `augment=default` repeats SegmentationPresetTrain exactly).

    cat_max_ratio < 1: up to max_tries positions are drawn, and the first in which no class covers more than
    cat_max_ratio of the labelled (non-ignore) pixels is kept, else the last (MMSegmentation's RandomCrop).
    """

    from_dataset = {"size": "crop_size", "ignore_index": "ignore_index"}

    def __init__(self, size: int | list[int], ignore_index: int, cat_max_ratio: float = 1.0,
                 max_tries: int = 10) -> None:
        self.height, self.width = size_pair("size", size)
        if not is_number(cat_max_ratio) or not 0 < cat_max_ratio <= 1:
            raise ConfigError(f"cat_max_ratio={cat_max_ratio!r} is not allowed; give a share in (0, 1] "
                              "(1: any crop)")
        self.cat_max_ratio, self.ignore_index = float(cat_max_ratio), ignore_index
        self.tries = positive_int("max_tries", max_tries) if cat_max_ratio < 1 else 1

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = image.shape[-2:]
        pad_h, pad_w = max(self.height - h, 0), max(self.width - w, 0)
        if pad_h or pad_w:
            image, mask = paired(F.pad, image, mask, [pad_w, pad_h, pad_w, pad_h], fill=(0, self.ignore_index))
            h, w = h + 2 * pad_h, w + 2 * pad_w
        for attempt in range(self.tries):
            top = int(torch.randint(0, h - self.height + 1, ())) if h > self.height else 0
            left = int(torch.randint(0, w - self.width + 1, ())) if w > self.width else 0
            if attempt == self.tries - 1 or self.balanced(mask[..., top:top + self.height, left:left + self.width]):
                break
        return paired(F.crop, image, mask, top, left, self.height, self.width)

    def balanced(self, crop: torch.Tensor) -> bool:
        """Two or more classes, none with more than cat_max_ratio of the labelled pixels."""
        counts = torch.bincount(crop.flatten().long())
        if self.ignore_index < len(counts):
            counts[self.ignore_index] = 0
        counts = counts[counts > 0]
        return len(counts) > 1 and int(counts.max()) < self.cat_max_ratio * int(counts.sum())


@register("center_crop")
class CenterCrop(Step):
    """The centred `size` crop, padded evenly (image 0, mask ignore index) where the image is smaller: a
    deterministic way to give every sample the batch's size (augment=none)."""

    from_dataset = {"size": "crop_size", "ignore_index": "ignore_index"}

    def __init__(self, size: int | list[int], ignore_index: int) -> None:
        self.height, self.width = size_pair("size", size)
        self.ignore_index = ignore_index

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = image.shape[-2:]
        pad_h, pad_w = max(self.height - h, 0), max(self.width - w, 0)
        if pad_h or pad_w:
            padding = [pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2]
            image, mask = paired(F.pad, image, mask, padding, fill=(0, self.ignore_index))
        return paired(F.center_crop, image, mask, [self.height, self.width])
