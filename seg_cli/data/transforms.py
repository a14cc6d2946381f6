"""Paired image/mask transforms (torchvision transforms v2 on tensors).

Targets travel as their tv_tensor type (seg_cli.data.targets): v2 resizes a class-index mask
nearest-neighbour and pads it with the ignore index.

Two resize modes: "shorter" (the torchvision reference: the shorter side goes to a size, the aspect ratio
is kept) and "square" (both sides go to the size, as salient-object and portrait recipes such as U2Net do).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from seg_cli.choices import RESIZE_MODES
from seg_cli.data.targets import CLASS_TARGET, Target

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_resize(resize: str) -> None:
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize={resize!r} is not one of {', '.join(RESIZE_MODES)}")


def default_normalization(in_channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """`dataset.mean` / `dataset.std` when null: ImageNet's for RGB, their average for one channel, and for
    N channels ImageNet's cycled (R, G, B, R, ...): the statistics the pretrained first-layer filters,
    adapted the same way (seg_cli.models.input_conv), were trained for."""
    if in_channels == 1:
        return (sum(IMAGENET_MEAN) / 3,), (sum(IMAGENET_STD) / 3,)
    cycle = [i % 3 for i in range(in_channels)]
    return tuple(IMAGENET_MEAN[i] for i in cycle), tuple(IMAGENET_STD[i] for i in cycle)


class NormalizeImage:
    """(C, H, W) image -> float32 (x - mean) / std on the [0, 1] scale, in one conversion and two passes.

    uint8 images (8-bit files) are x / 255: the shift and scale fold the division in. float32 images (higher
    bit depths, already scaled by seg_cli.data.io.load_image) are normalised as they are, into a new tensor.
    v2.ToDtype(scale=True) + v2.Normalize make four passes over the pixels: 0.17 vs 0.06 ms for a
    256x256 crop on one core, paid for every training sample (scripts/bench.py).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.inv_std = 1 / self.std
        self.shift, self.scale = self.mean * 255, 1 / (self.std * 255)  # uint8: x / 255 folded in

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-3] != self.mean.shape[0]:
            raise ValueError(f"image has {image.shape[-3]} channels but mean/std have {self.mean.shape[0]} values")
        if image.dtype == torch.uint8:
            return image.to(torch.float32).sub_(self.shift).mul_(self.scale)
        if image.is_floating_point():
            return torch.sub(image.to(torch.float32), self.mean).mul_(self.inv_std)  # never in place: cached input
        raise TypeError(f"expected a uint8 or float image, got {image.dtype}")

    def invert(self, image: torch.Tensor) -> torch.Tensor:
        """A normalised image back on the [0, 1] scale (for pictures of the model's inputs)."""
        return image.float() * self.std.to(image.device) + self.mean.to(image.device)


class SegmentationPresetTrain:
    """Random resize, crop with ignore padding, flip, normalise.

    resize="shorter": the shorter side is drawn from scale_range x base_size.
    resize="square": the image becomes base_size x base_size, then (unless scale_range is [1, 1]) its side is
    drawn from scale_range x base_size; e.g. U2Net's 320x320 then random crop 288.
    `target`: the kind of mask (seg_cli.data.targets), whose type decides its resampling and padding.
    """

    def __init__(
        self,
        base_size: int,
        crop_size: int | tuple[int, int],  # a square side or (height, width)
        hflip_prob: float = 0.5,
        ignore_index: int = 255,
        scale_range: Sequence[float] = (0.5, 2.0),
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        resize: str = "shorter",
        target: Target = CLASS_TARGET,
    ) -> None:
        _check_resize(resize)
        min_size, max_size = int(scale_range[0] * base_size), int(scale_range[1] * base_size)
        steps: list[v2.Transform] = []
        if resize == "square":
            steps.append(v2.Resize((base_size, base_size)))
        if resize == "shorter" or (min_size, max_size) != (base_size, base_size):
            steps.append(v2.RandomResize(min_size, max_size + 1))
        fill = {tv_tensors.Image: 0, target.tensor_type: ignore_index}
        steps.append(v2.RandomCrop(crop_size, pad_if_needed=True, fill=fill))
        # Flipping the crop rather than the resized image: the same distribution (the crop position is
        # uniform and pad_if_needed pads both sides alike), on up to 4x fewer pixels.
        if hflip_prob > 0:
            steps.append(v2.RandomHorizontalFlip(hflip_prob))
        self.transforms = v2.Compose(steps)  # geometric steps on uint8 or float; normalised last, on the crop only
        self.normalize = NormalizeImage(mean, std)
        self.target = target

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out_image, out_mask = self.transforms(tv_tensors.Image(image), self.target.wrap(mask))
        return self.normalize(out_image.as_subclass(torch.Tensor)), out_mask.as_subclass(torch.Tensor)


class SegmentationPresetEval:
    """Resize (shorter side, or both sides with resize="square", to base_size) and normalise.

    The mask keeps its resolution unless resize_mask; `target` is its kind (seg_cli.data.targets).
    """

    def __init__(
        self,
        base_size: int,
        resize_mask: bool = False,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        resize: str = "shorter",
        target: Target = CLASS_TARGET,
    ) -> None:
        _check_resize(resize)
        self.base_size, self.square = base_size, resize == "square"
        self.resize = v2.Resize((base_size, base_size) if self.square else base_size)
        self.normalize = NormalizeImage(mean, std)
        self.resize_mask, self.target = resize_mask, target

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the image this transform makes from one of (height, width), as v2.Resize
        computes it (the longer side truncated), without touching pixels."""
        if self.square:
            return self.base_size, self.base_size
        if width <= height:
            return int(self.base_size * height / width), self.base_size
        return self.base_size, int(self.base_size * width / height)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        image = self.normalize(self.resize(tv_tensors.Image(image)).as_subclass(torch.Tensor))
        if mask is not None and self.resize_mask:
            mask = self.resize(self.target.wrap(mask)).as_subclass(torch.Tensor)
        return image, mask
