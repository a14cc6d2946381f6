"""LinkNet (Chaurasia & Culurciello 2017): a ResNet-18 encoder linked to a light decoder by addition.

Each decoder block mirrors one encoder stage: 1x1 conv (m -> m/4), 3x3 transposed conv (x2 up-sampling),
1x1 conv (m/4 -> n); its output is added to the input of the encoder stage it mirrors. torchvision's
`layer1` keeps the stem's resolution, so its mirror (`decoder1`) does not up-sample; the final block
(3x3 transposed conv x2, 3x3 conv, 2x2 transposed conv x2) brings the stride-4 map to full resolution.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18

from seg_cli.models.contract import ModelSpec
from seg_cli.models.input_conv import with_in_channels

# The ResNet-18 stem and stages are the encoder (train.freeze=[backbone]); pretrained_backbone downloads.
SPEC = ModelSpec(encoder=("stem", "encoders"), download_keys=("pretrained_backbone",))


def conv_bn_relu(conv: nn.Module, channels: int) -> nn.Sequential:
    """`conv` followed by BatchNorm and ReLU."""
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    """1x1 conv, 3x3 transposed conv (x`stride`), 1x1 conv; sized to the skip it is added to."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2) -> None:
        super().__init__()
        mid = in_channels // 4
        self.reduce = conv_bn_relu(nn.Conv2d(in_channels, mid, 1, bias=False), mid)
        self.up = nn.ConvTranspose2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.up_act = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.expand = conv_bn_relu(nn.Conv2d(mid, out_channels, 1, bias=False), out_channels)

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        # output_size picks the output padding: stride-2 encoders halve rounding up, so it always fits.
        x = self.up_act(self.up(self.reduce(x), output_size=size))
        return self.expand(x)


class LinkNet(nn.Module):
    """ResNet-18 encoder (strides 4, 8, 16, 32), four decoder blocks linked by addition, final block."""

    seg_spec = SPEC

    def __init__(self, num_classes: int, pretrained_backbone: bool = False, in_channels: int = 3) -> None:
        super().__init__()
        resnet = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1 if pretrained_backbone else None)
        conv1 = with_in_channels(resnet.conv1, in_channels, pretrained_backbone)  # RGB filters adapted
        self.stem = nn.Sequential(conv1, resnet.bn1, resnet.relu)  # stride 2
        self.pool = resnet.maxpool  # stride 4
        self.encoders = nn.ModuleList([resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4])
        self.decoders = nn.ModuleList([  # decoders[i] mirrors encoders[i]
            DecoderBlock(64, 64, stride=1), DecoderBlock(128, 64), DecoderBlock(256, 128), DecoderBlock(512, 256),
        ])
        self.final_up1 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, bias=False)
        self.final_act = nn.Sequential(nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.final_conv = conv_bn_relu(nn.Conv2d(32, 32, 3, padding=1, bias=False), 32)
        self.final_up2 = nn.ConvTranspose2d(32, num_classes, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.stem(x)
        h, links = self.pool(half), []
        for encoder in self.encoders:
            links.append(h)
            h = encoder(h)
        # "The input of each encoder layer is bypassed to the output of its corresponding decoder."
        for decoder, link in zip(reversed(self.decoders), reversed(links), strict=True):
            h = decoder(h, link.shape[-2:]) + link
        h = self.final_conv(self.final_act(self.final_up1(h, output_size=half.shape[-2:])))
        # The 2x2 transposed conv doubles the stride-2 size: one row/column too many for odd inputs.
        return self.final_up2(h)[..., : x.shape[-2], : x.shape[-1]]

def linknet(num_classes: int, in_channels: int = 3, pretrained_backbone: bool = False) -> LinkNet:
    """LinkNet with a ResNet-18 encoder."""
    return LinkNet(num_classes, pretrained_backbone, in_channels)
