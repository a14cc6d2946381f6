"""U^2-Net (Qin et al. 2020): a U-shaped net whose stages are themselves small U-nets (RSU blocks).

Training mode returns the fused logits as 'out' and the six side outputs as 'side1'..'side6' (all
logits at the input size, for deep supervision); eval mode returns only {'out': fused logits}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.models.contract import ModelSpec

# The RSU encoder stages are the encoder (train.freeze=[backbone]); side1..side6 are deep supervision.
SPEC = ModelSpec(encoder=("encoder",))

# (height, in, mid, out, dilated) per stage; dilated=True is RSU-4F (dilations instead of pooling).
Stage = tuple[int, int, int, int, bool]
U2NET_ENCODER: list[Stage] = [(7, 3, 32, 64, False), (6, 64, 32, 128, False), (5, 128, 64, 256, False),
                              (4, 256, 128, 512, False), (4, 512, 256, 512, True), (4, 512, 256, 512, True)]
U2NET_DECODER: list[Stage] = [(4, 1024, 256, 512, True), (4, 1024, 128, 256, False), (5, 512, 64, 128, False),
                              (6, 256, 32, 64, False), (7, 128, 16, 64, False)]
LITE_ENCODER: list[Stage] = [(7, 3, 16, 64, False), (6, 64, 16, 64, False), (5, 64, 16, 64, False),
                             (4, 64, 16, 64, False), (4, 64, 16, 64, True), (4, 64, 16, 64, True)]
LITE_DECODER: list[Stage] = [(4, 128, 16, 64, True), (4, 128, 16, 64, False), (5, 128, 16, 64, False),
                             (6, 128, 16, 64, False), (7, 128, 16, 64, False)]


def resize_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize `x` to the spatial size of `like` (no-op when it already matches)."""
    if x.shape[-2:] == like.shape[-2:]:
        return x
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def down(x: torch.Tensor) -> torch.Tensor:
    """2x max-pool rounding up, so odd sizes keep their last row and column."""
    return F.max_pool2d(x, 2, ceil_mode=True)


class ConvBNReLU(nn.Sequential):
    """3x3 convolution (dilated by `dilation`, same size) + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1) -> None:
        super().__init__(  # the conv keeps its (redundant) bias, as in the paper's parameter counts
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class RSU(nn.Module):
    """Residual U-block RSU-L of `height` L; with `dilated` it is RSU-LF (dilations 1, 2, 4, ...; no pooling).

    The encoder has L convolutions; the plain block pools between the first L-1 of them and dilates the
    last by 2. The decoder mirrors it with L-1 convolutions on [up-sampled deeper map, skip]; the block's
    output is the decoder's plus the input convolution's (the residual).
    """

    def __init__(self, height: int, in_channels: int, mid_channels: int, out_channels: int,
                 dilated: bool = False) -> None:
        super().__init__()
        self.pooled = not dilated
        dilations = [2**i for i in range(height)] if dilated else [1] * (height - 1) + [2]
        self.conv_in = ConvBNReLU(in_channels, out_channels)
        self.encoder = nn.ModuleList(
            ConvBNReLU(out_channels if i == 0 else mid_channels, mid_channels, dilations[i]) for i in range(height)
        )
        self.decoder = nn.ModuleList(
            ConvBNReLU(2 * mid_channels, out_channels if i == 0 else mid_channels, dilations[i])
            for i in reversed(range(height - 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv_in(x)
        h, skips = residual, []
        for i, conv in enumerate(self.encoder):
            if self.pooled and 0 < i < len(self.encoder) - 1:
                h = down(h)
            h = conv(h)
            skips.append(h)
        h = skips.pop()
        for conv in self.decoder:
            skip = skips.pop()
            h = conv(torch.cat([resize_to(h, skip), skip], dim=1))
        return h + residual


class U2Net(nn.Module):
    """Six RSU encoder stages, five RSU decoder stages, a 3x3 side output per stage and a 1x1 fusion."""

    seg_spec = SPEC

    def __init__(self, num_classes: int, encoder: list[Stage], decoder: list[Stage], in_channels: int = 3) -> None:
        super().__init__()
        first = encoder[0]
        encoder = [(first[0], in_channels, *first[2:]), *encoder[1:]]  # the first stage reads the image
        self.encoder = nn.ModuleList(RSU(*stage) for stage in encoder)
        self.decoder = nn.ModuleList(RSU(*stage) for stage in decoder)
        # side1 reads the last decoder stage (full resolution) ... side6 the bottom encoder stage.
        side_channels = [stage[3] for stage in reversed(decoder)] + [encoder[-1][3]]
        self.sides = nn.ModuleList(nn.Conv2d(c, num_classes, 3, padding=1) for c in side_channels)
        self.fuse = nn.Conv2d(len(self.sides) * num_classes, num_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h, skips = x, []
        for i, stage in enumerate(self.encoder):
            h = stage(down(h) if i > 0 else h)
            skips.append(h)
        decoded = [skips.pop()]
        for stage in self.decoder:
            skip = skips.pop()
            decoded.append(stage(torch.cat([resize_to(decoded[-1], skip), skip], dim=1)))
        sides = [resize_to(side(d), x) for side, d in zip(self.sides, reversed(decoded), strict=True)]
        outputs = {"out": self.fuse(torch.cat(sides, dim=1))}
        if self.training:
            outputs.update({f"side{i}": s for i, s in enumerate(sides, start=1)})
        return outputs


def u2net(num_classes: int, in_channels: int = 3) -> U2Net:
    """Full U^2-Net (about 44 M parameters)."""
    return U2Net(num_classes, U2NET_ENCODER, U2NET_DECODER, in_channels)


def u2net_lite(num_classes: int, in_channels: int = 3) -> U2Net:
    """U^2-Net-lite, the paper's U^2-Net-dagger (about 1.1 M parameters)."""
    return U2Net(num_classes, LITE_ENCODER, LITE_DECODER, in_channels)
