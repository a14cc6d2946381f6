"""The alpha-matte target of the matting task: alpha in [0, 1] as float, resampled bilinearly with its image.

A matte travels as (2, H, W) float32 — alpha, and a weight that is 1 where a pixel was loaded and 0 where the
transforms uncovered one (padding, rotated-in corners) — plus, where the dataset ships one, the trimap as a
third channel (0 background, 1 foreground, 0.5 unknown) for evaluation. Invalid pixels are marked by the
weight, never by a value: 255 is opaque alpha here, not "ignore". Geometric steps resample every channel
bilinearly (antialiased when shrinking); photometric steps never see the target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision import tv_tensors
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from seg_cli.data.targets import Target
from seg_cli.errors import DataError

ALPHA, WEIGHT, TRIMAP = 0, 1, 2  # the channels of a matte target


class AlphaMatte(tv_tensors.TVTensor):
    """(C, H, W) float32 matte target: alpha, weight[, trimap]."""

    def __new__(cls, data: torch.Tensor) -> AlphaMatte:
        return torch.as_tensor(data).as_subclass(cls)


def _plain(matte: torch.Tensor) -> torch.Tensor:
    return matte.as_subclass(torch.Tensor)


@F.register_kernel(F.resize, AlphaMatte)
def _resize(matte, size, interpolation=None, max_size=None, antialias=True, **kwargs):
    out = F.resize_image(_plain(matte), size, interpolation=InterpolationMode.BILINEAR, max_size=max_size,
                         antialias=True)
    return tv_tensors.wrap(out.clamp_(0, 1), like=matte)  # antialiasing may overshoot by a rounding error


@F.register_kernel(F.pad, AlphaMatte)
def _pad(matte, padding, fill=None, padding_mode="constant"):
    return tv_tensors.wrap(F.pad_image(_plain(matte), padding, fill=0.0), like=matte)  # weight 0: no pixel


@F.register_kernel(F.rotate, AlphaMatte)
def _rotate(matte, angle, interpolation=None, expand=False, center=None, fill=None):
    out = F.rotate_image(_plain(matte), angle, interpolation=InterpolationMode.BILINEAR, expand=expand,
                         center=center, fill=0.0)
    return tv_tensors.wrap(out, like=matte)


@F.register_kernel(F.crop, AlphaMatte)
def _crop(matte, top, left, height, width):
    return tv_tensors.wrap(F.crop_image(_plain(matte), top, left, height, width), like=matte)


@F.register_kernel(F.center_crop, AlphaMatte)
def _center_crop(matte, output_size):
    return tv_tensors.wrap(F.center_crop_image(_plain(matte), output_size), like=matte)


@F.register_kernel(F.horizontal_flip, AlphaMatte)
def _hflip(matte):
    return tv_tensors.wrap(F.horizontal_flip_image(_plain(matte)), like=matte)


@F.register_kernel(F.vertical_flip, AlphaMatte)
def _vflip(matte):
    return tv_tensors.wrap(F.vertical_flip_image(_plain(matte)), like=matte)


class AlphaTarget(Target):
    """Alpha mattes: read from grey (8 or 16 bits), RGB (first channel) or RGBA / LA files (the alpha
    channel); float32 (2 or 3, H, W) for the transforms, the collation and the loss."""

    tensor_type = AlphaMatte
    reads_labels = False

    def read(self, path: str | Path, labels: Any = None) -> torch.Tensor:
        return load_alpha(path)

    def typed(self, target: torch.Tensor, label_count: int, ignore_index: int, source: str) -> torch.Tensor:
        """(H, W) alpha, or (2, H, W) alpha and trimap, in [0, 1] -> alpha, weight 1[, trimap]."""
        if not target.is_floating_point():
            raise DataError(f"{source}: an alpha matte must be read as float in [0, 1], got {target.dtype}")
        planes = target[None] if target.dim() == 2 else target
        alpha, extra = planes[0].float(), planes[1:].float()
        return torch.cat([alpha[None], torch.ones_like(alpha)[None], extra]).contiguous()

    def pad_value(self, ignore_index: int) -> float:
        return 0.0  # weight 0 marks padding invalid

    def for_loss(self, target: torch.Tensor) -> torch.Tensor:
        return target.float()


ALPHA_TARGET = AlphaTarget()


def load_alpha(path: str | Path) -> torch.Tensor:
    """A matte file as (H, W) float32 alpha in [0, 1]: grey 8-bit / 16-bit, the first channel of RGB, the alpha
    channel of RGBA and LA (AISegment's `matting/` PNGs), a palette image's grey levels."""
    try:
        with Image.open(path) as image:
            image.load()
            return torch.from_numpy(_alpha_array(image, Path(path)))
    except FileNotFoundError:
        raise DataError(f"matte not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read matte {path}: {exc}") from None


def _alpha_array(image: Image.Image, path: Path) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "PA"):
        return np.asarray(image.getchannel("A"), dtype=np.float32) / 255
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float32)
        return np.clip(values / 65535 if values.max() > 255 or image.mode.startswith("I;16") else values / 255, 0, 1)
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    if image.mode in ("L", "1", "P"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255
    if image.mode == "RGB":
        return np.asarray(image.getchannel("R"), dtype=np.float32) / 255
    raise DataError(f"matte {path} has mode {image.mode}; expected a grey (8 or 16 bits), RGB or RGBA PNG")


def trimap_from_alpha(alpha: torch.Tensor, kernel: int) -> torch.Tensor:
    """The evaluation trimap of a matte that ships none, as a trimap channel: opaque pixels eroded by an
    ellipse of `kernel` px are foreground, transparent ones eroded likewise background (seg_cli.metrics.matting)."""
    from seg_cli.metrics.matting import generate_trimap

    trimap = generate_trimap(alpha.numpy(), kernel)
    return torch.from_numpy(np.where(trimap == 0, 0.0, np.where(trimap == 255, 1.0, 0.5)).astype(np.float32))


def load_trimap(path: str | Path) -> torch.Tensor:
    """A trimap file as (H, W) float32: 0 background (stored 0), 1 foreground (255), 0.5 unknown (anything else)."""
    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"))
    except FileNotFoundError:
        raise DataError(f"trimap not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read trimap {path}: {exc}") from None
    return torch.from_numpy(np.where(grey == 0, 0.0, np.where(grey == 255, 1.0, 0.5)).astype(np.float32))
