"""UNet (Ronneberger et al. 2015) with padded convolutions: output size equals input size for any H, W."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.models.contract import ModelSpec

# The contracting path is the encoder (train.freeze=[backbone]); no auxiliary head, nothing downloaded.
SPEC = ModelSpec(encoder=("stem", "downs"))


class DoubleConv(nn.Sequential):
    """Two 3x3 conv + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Up(nn.Module):
    """Up-sample to the skip's size, concatenate the skip, DoubleConv."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, bilinear: bool) -> None:
        super().__init__()
        self.bilinear = bilinear
        if bilinear:
            self.reduce = nn.Conv2d(in_channels, in_channels // 2, 1)
        else:
            self.reduce = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.bilinear:
            x = self.reduce(F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False))
        else:
            # Odd sizes: ceil-mode pooling padded one row/column at the end, so the transposed conv
            # comes out one pixel long there; cropping the end keeps every pixel over its skip pixel.
            x = self.reduce(x)[..., : skip.shape[-2], : skip.shape[-1]]
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Encoder of `depth` max-pool stages, decoder with concatenated skips, 1x1 classifier."""

    seg_spec = SPEC

    def __init__(
        self, num_classes: int, in_channels: int = 3, base_channels: int = 64, depth: int = 4,
        bilinear: bool = True,
    ) -> None:
        super().__init__()
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.stem = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i], bilinear) for i in reversed(range(depth))
        )
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for down in self.downs:
            # ceil_mode keeps odd sizes from losing a row; Up resizes back to the skip exactly.
            skips.append(down(F.max_pool2d(skips[-1], 2, ceil_mode=True)))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.classifier(x)


def unet(
    num_classes: int, in_channels: int = 3, base_channels: int = 64, depth: int = 4, bilinear: bool = True
) -> UNet:
    """Build a UNet; `base_channels` and `depth` set its width and number of stages."""
    return UNet(num_classes, in_channels, base_channels, depth, bilinear)
