"""The torchvision segmentation models, with seg's config keys.

`pretrained` loads torchvision's COCO-with-VOC-labels weights (21 classes); for another class count
the final classifier convolutions are replaced, so the rest of the pretrained network is still used.
`published_weights` names those weights for `seg eval` / `seg predict` without a checkpoint
(seg_cli.models.torchvision_weights provides them to seg_cli.models.published).
For `in_channels` other than 3 the backbone's first convolution is remade (seg_cli.models.input_conv),
its pretrained RGB filters adapted.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights, ResNet101_Weights, WeightsEnum
from torchvision.models import segmentation as tvseg

from seg_cli.models.contract import ModelSpec, declare
from seg_cli.models.input_conv import set_input_channels

# torchvision's layout: `backbone` (ResNet / MobileNetV3), `classifier`, and `aux_classifier` with aux_loss.
SPEC = ModelSpec(encoder=("backbone",), aux_heads=("aux_classifier",),
                 download_keys=("pretrained", "pretrained_backbone"))

PRETRAINED_CLASSES = 21  # COCO subset with the 20 VOC categories + background
# The builders below whose torchvision namesake has published COCO-with-VOC-labels weights.
PUBLISHED = {
    "fcn_resnet50": tvseg.FCN_ResNet50_Weights,
    "fcn_resnet101": tvseg.FCN_ResNet101_Weights,
    "deeplabv3_resnet50": tvseg.DeepLabV3_ResNet50_Weights,
    "deeplabv3_resnet101": tvseg.DeepLabV3_ResNet101_Weights,
    "deeplabv3_mobilenet_v3_large": tvseg.DeepLabV3_MobileNet_V3_Large_Weights,
    "lraspp_mobilenet_v3_large": tvseg.LRASPP_MobileNet_V3_Large_Weights,
}


def published_weights(name: str) -> WeightsEnum | None:
    """torchvision's COCO-with-VOC-labels weights of the builder `name`; None for any other name."""
    weights = PUBLISHED.get(name)
    return None if weights is None else weights.COCO_WITH_VOC_LABELS_V1


def _replace_class_convs(module: nn.Module, num_classes: int) -> None:
    """Swap every Conv2d with PRETRAINED_CLASSES outputs for a fresh one with num_classes outputs."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d) and child.out_channels == PRETRAINED_CLASSES:
            setattr(module, name, nn.Conv2d(child.in_channels, num_classes, child.kernel_size,
                                            child.stride, child.padding, bias=child.bias is not None))
        else:
            _replace_class_convs(child, num_classes)


def _build(
    builder: Callable[..., nn.Module], weights_enum, backbone_weights, num_classes: int, in_channels: int,
    pretrained: bool, pretrained_backbone: bool, **kwargs,
) -> nn.Module:
    if pretrained:
        model = builder(weights=weights_enum.DEFAULT, num_classes=PRETRAINED_CLASSES, **kwargs)
        if num_classes != PRETRAINED_CLASSES:
            _replace_class_convs(model.classifier, num_classes)
            for head in SPEC.aux_heads:
                if getattr(model, head, None) is not None:
                    _replace_class_convs(getattr(model, head), num_classes)
    else:
        model = builder(
            weights=None, weights_backbone=backbone_weights if pretrained_backbone else None,
            num_classes=num_classes, **kwargs,
        )
    return declare(set_input_channels(model, in_channels, pretrained=pretrained or pretrained_backbone), SPEC)


def fcn_resnet50(
    num_classes: int = 21, in_channels: int = 3, aux_loss: bool = True, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """FCN with a dilated ResNet-50 backbone."""
    return _build(tvseg.fcn_resnet50, tvseg.FCN_ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1,
                  num_classes, in_channels, pretrained, pretrained_backbone, aux_loss=aux_loss)


def fcn_resnet101(
    num_classes: int = 21, in_channels: int = 3, aux_loss: bool = True, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """FCN with a dilated ResNet-101 backbone."""
    return _build(tvseg.fcn_resnet101, tvseg.FCN_ResNet101_Weights, ResNet101_Weights.IMAGENET1K_V1,
                  num_classes, in_channels, pretrained, pretrained_backbone, aux_loss=aux_loss)


def deeplabv3_resnet50(
    num_classes: int = 21, in_channels: int = 3, aux_loss: bool = True, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """DeepLabV3 (ASPP head) with a dilated ResNet-50 backbone."""
    return _build(tvseg.deeplabv3_resnet50, tvseg.DeepLabV3_ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1,
                  num_classes, in_channels, pretrained, pretrained_backbone, aux_loss=aux_loss)


def deeplabv3_resnet101(
    num_classes: int = 21, in_channels: int = 3, aux_loss: bool = True, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """DeepLabV3 (ASPP head) with a dilated ResNet-101 backbone."""
    return _build(tvseg.deeplabv3_resnet101, tvseg.DeepLabV3_ResNet101_Weights,
                  ResNet101_Weights.IMAGENET1K_V1, num_classes, in_channels, pretrained, pretrained_backbone,
                  aux_loss=aux_loss)


def deeplabv3_mobilenet_v3_large(
    num_classes: int = 21, in_channels: int = 3, aux_loss: bool = True, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """DeepLabV3 with a dilated MobileNetV3-Large backbone."""
    return _build(tvseg.deeplabv3_mobilenet_v3_large, tvseg.DeepLabV3_MobileNet_V3_Large_Weights,
                  MobileNet_V3_Large_Weights.IMAGENET1K_V1, num_classes, in_channels, pretrained,
                  pretrained_backbone, aux_loss=aux_loss)


def lraspp_mobilenet_v3_large(
    num_classes: int = 21, in_channels: int = 3, pretrained: bool = False,
    pretrained_backbone: bool = False,
) -> nn.Module:
    """Lite R-ASPP with a MobileNetV3-Large backbone (no auxiliary head)."""
    return _build(tvseg.lraspp_mobilenet_v3_large, tvseg.LRASPP_MobileNet_V3_Large_Weights,
                  MobileNet_V3_Large_Weights.IMAGENET1K_V1, num_classes, in_channels, pretrained,
                  pretrained_backbone)
