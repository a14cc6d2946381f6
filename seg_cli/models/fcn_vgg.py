"""FCN-32s/16s/8s on VGG-16 (Long, Shelhamer & Darrell 2015), as in the paper's reference nets.

Arbitrary input sizes work as in the original: the first convolution pads by 100 pixels and the max-pools
round up (ceil mode), so the 7x7 `fc6` always has a map to slide over and the up-sampled scores always
cover the image; the scores are then cropped at fixed offsets that align them with the input pixels.
The offsets follow from each layer's (stride, padding, kernel) and are checked by the tests.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from seg_cli.models.contract import ModelSpec
from seg_cli.models.input_conv import set_input_channels

# The VGG-16 convolutions are the encoder (train.freeze=[backbone]); pretrained_backbone downloads.
SPEC = ModelSpec(encoder=("to_pool3", "to_pool4", "to_pool5"), download_keys=("pretrained_backbone",))

# Where each map's first useful pixel lies, in that map's own pixels (see the module docstring).
POOL4_OFFSET = 5   # score_pool4 vs the 2x up-sampled stride-32 scores
POOL3_OFFSET = 9   # score_pool3 vs the 2x up-sampled stride-16 scores
FINAL_OFFSET = {32: 19, 16: 27, 8: 31}  # final up-sampled scores vs the input image
POOL_ENDS = (17, 24, 31)  # torchvision vgg16.features indices just after pool3, pool4, pool5


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """ConvTranspose2d weight that up-samples each channel on its own by bilinear interpolation."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = taps[:, None] * taps[None, :]
    return weight


def upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """Learnable x`factor` up-sampling (kernel 2*factor, no bias) initialised to bilinear."""
    up = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 2 * factor))
    return up


def crop(x: torch.Tensor, offset: int, like: torch.Tensor) -> torch.Tensor:
    """The window of `x` starting at (offset, offset) with the spatial size of `like`."""
    h, w = like.shape[-2:]
    return x[..., offset:offset + h, offset:offset + w]


def score_layer(in_channels: int, num_classes: int) -> nn.Conv2d:
    """1x1 class-score convolution, zero-initialised as in the paper."""
    conv = nn.Conv2d(in_channels, num_classes, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FCNVGG16(nn.Module):
    """VGG-16 features, fc6/fc7 as convolutions, and skips from pool4 (stride 16) and pool3 (stride 8)."""

    seg_spec = SPEC

    def __init__(self, num_classes: int, stride: int = 8, pretrained_backbone: bool = False,
                 in_channels: int = 3) -> None:
        super().__init__()
        if stride not in FINAL_OFFSET:
            raise ValueError(f"FCN stride must be one of {sorted(FINAL_OFFSET)}, got {stride}")
        self.stride = stride
        features = make_layers(cfgs["D"])  # VGG-16's convolutions, without the 120 M-parameter classifier
        features[0].padding = (100, 100)
        for layer in features:
            if isinstance(layer, nn.MaxPool2d):
                layer.ceil_mode = True
        self.to_pool3 = features[:POOL_ENDS[0]]
        self.to_pool4 = features[POOL_ENDS[0]:POOL_ENDS[1]]
        self.to_pool5 = features[POOL_ENDS[1]:POOL_ENDS[2]]
        # fc6/fc7 as convolutions: head[0] is fc6 (7x7), head[3] is fc7 (1x1).
        self.head = nn.Sequential(nn.Conv2d(512, 4096, 7), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Conv2d(4096, 4096, 1), nn.ReLU(inplace=True), nn.Dropout(0.5))
        for conv in [*features, *self.head]:
            if isinstance(conv, nn.Conv2d):  # torchvision's VGG initialisation, for training from scratch
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(conv.bias)
        if pretrained_backbone:
            self.load_vgg_state(VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True))
        set_input_channels(self, in_channels, pretrained_backbone)  # after loading: adapts the RGB filters
        self.score_fr = score_layer(4096, num_classes)
        if stride == 32:
            self.upscore = upsampler(num_classes, 32)
            return
        self.score_pool4 = score_layer(512, num_classes)
        self.upscore2 = upsampler(num_classes, 2)
        if stride == 16:
            self.upscore = upsampler(num_classes, 16)
            return
        self.score_pool3 = score_layer(256, num_classes)
        self.upscore_pool4 = upsampler(num_classes, 2)
        self.upscore = upsampler(num_classes, 8)

    def load_vgg_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a torchvision VGG-16 state dict; its fully connected fc6/fc7 become the 7x7 and 1x1 convs."""
        features = [*self.to_pool3, *self.to_pool4, *self.to_pool5]
        with torch.no_grad():
            for index, layer in enumerate(features):
                if isinstance(layer, nn.Conv2d):
                    layer.weight.copy_(state[f"features.{index}.weight"])
                    layer.bias.copy_(state[f"features.{index}.bias"])
            for conv, linear in ((self.head[0], "classifier.0"), (self.head[3], "classifier.3")):
                conv.weight.copy_(state[f"{linear}.weight"].view_as(conv.weight))
                conv.bias.copy_(state[f"{linear}.bias"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool3 = self.to_pool3(x)
        pool4 = self.to_pool4(pool3)
        score = self.score_fr(self.head(self.to_pool5(pool4)))
        if self.stride <= 16:
            score = self.upscore2(score)
            score = score + crop(self.score_pool4(pool4), POOL4_OFFSET, score)
        if self.stride == 8:
            score = self.upscore_pool4(score)
            score = score + crop(self.score_pool3(pool3), POOL3_OFFSET, score)
        return crop(self.upscore(score), FINAL_OFFSET[self.stride], x)


def fcn32s_vgg16(num_classes: int, in_channels: int = 3, pretrained_backbone: bool = False) -> FCNVGG16:
    """FCN-32s: stride-32 scores up-sampled x32 in one step."""
    return FCNVGG16(num_classes, 32, pretrained_backbone, in_channels)


def fcn16s_vgg16(num_classes: int, in_channels: int = 3, pretrained_backbone: bool = False) -> FCNVGG16:
    """FCN-16s: adds pool4 scores before a x16 up-sampling."""
    return FCNVGG16(num_classes, 16, pretrained_backbone, in_channels)


def fcn8s_vgg16(num_classes: int, in_channels: int = 3, pretrained_backbone: bool = False) -> FCNVGG16:
    """FCN-8s: adds pool4 and pool3 scores before a x8 up-sampling."""
    return FCNVGG16(num_classes, 8, pretrained_backbone, in_channels)
