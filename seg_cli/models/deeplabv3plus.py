"""DeepLabV3+ (Chen et al. 2018): DeepLabV3's ASPP head plus a decoder that refines it with layer1 features.

The ResNet backbone is dilated to an output stride of 16 (layer4 dilated) or 8 (layer3 and layer4
dilated); the ASPP rates are (6, 12, 18) at stride 16 and doubled at stride 8, as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import ResNet, ResNet50_Weights, ResNet101_Weights, WeightsEnum, resnet50, resnet101
from torchvision.models.segmentation.deeplabv3 import ASPP

from seg_cli.errors import ConfigError
from seg_cli.models.contract import ModelSpec
from seg_cli.models.input_conv import with_in_channels

# The ResNet is the encoder (train.freeze=[backbone]); no auxiliary head; pretrained_backbone downloads.
SPEC = ModelSpec(encoder=("stem", "layer1", "layer2", "layer3", "layer4"), download_keys=("pretrained_backbone",))

ASPP_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}
DILATE_LAYERS = {16: [False, False, True], 8: [False, True, True]}  # layer2, layer3, layer4


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """Same-size convolution + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DeepLabV3Plus(nn.Module):
    """Backbone -> ASPP (256 ch) -> x4 up-sample, concat 48-ch layer1 features -> two 3x3 convs -> classes."""

    seg_spec = SPEC

    def __init__(self, backbone: ResNet, num_classes: int, output_stride: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(backbone.conv1, backbone.bn1, backbone.relu, backbone.maxpool)
        self.layer1, self.layer2 = backbone.layer1, backbone.layer2
        self.layer3, self.layer4 = backbone.layer3, backbone.layer4
        self.aspp = ASPP(2048, list(ASPP_RATES[output_stride]), 256)
        # 48 channels: fewer than the ASPP's 256, so low-level detail does not outweigh them (paper, 4.1).
        self.reduce_low = conv_bn_relu(256, 48, 1)
        self.decoder = nn.Sequential(conv_bn_relu(256 + 48, 256, 3), conv_bn_relu(256, 256, 3))
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.layer1(self.stem(x))  # stride 4
        high = self.aspp(self.layer4(self.layer3(self.layer2(low))))
        high = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=False)
        h = self.decoder(torch.cat([high, self.reduce_low(low)], dim=1))
        return F.interpolate(self.classifier(h), size=x.shape[-2:], mode="bilinear", align_corners=False)


def _build(resnet: Callable[..., ResNet], weights: WeightsEnum, num_classes: int, in_channels: int,
           output_stride: int, pretrained_backbone: bool) -> DeepLabV3Plus:
    if output_stride not in ASPP_RATES:
        raise ConfigError(f"model.output_stride must be 8 or 16, got {output_stride}")
    backbone = resnet(weights=weights if pretrained_backbone else None,
                      replace_stride_with_dilation=DILATE_LAYERS[output_stride])
    backbone.conv1 = with_in_channels(backbone.conv1, in_channels, pretrained_backbone)  # RGB filters adapted
    return DeepLabV3Plus(backbone, num_classes, output_stride)


def deeplabv3plus_resnet50(num_classes: int, in_channels: int = 3, output_stride: int = 16,
                           pretrained_backbone: bool = False) -> DeepLabV3Plus:
    """DeepLabV3+ with a dilated ResNet-50 backbone."""
    return _build(resnet50, ResNet50_Weights.IMAGENET1K_V1, num_classes, in_channels, output_stride,
                  pretrained_backbone)


def deeplabv3plus_resnet101(num_classes: int, in_channels: int = 3, output_stride: int = 16,
                            pretrained_backbone: bool = False) -> DeepLabV3Plus:
    """DeepLabV3+ with a dilated ResNet-101 backbone."""
    return _build(resnet101, ResNet101_Weights.IMAGENET1K_V1, num_classes, in_channels, output_stride,
                  pretrained_backbone)
