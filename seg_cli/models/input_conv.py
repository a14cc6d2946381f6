"""First convolutions for `in_channels` image channels (grey, RGB or N bands), reusing pretrained RGB filters.

The rule for pretrained ImageNet / COCO filters (the convention of timm's `adapt_input_conv`; our own code):
- 1 channel: the sum of the R, G and B filters, so a grey image responds exactly as that image replicated
  into RGB did: the mean filter, scaled to keep the sum over input channels.
- N channels: the RGB filters cycled over the bands (R, G, B, R, G, ...) and scaled by 3 / N, so that bands
  which look alike give responses of the size the layer was trained for.
Without pretrained weights the new convolution is drawn as torchvision initialises its backbones (Kaiming
normal, fan-out mode; fan-out does not depend on the input channels, so this is the model's own init).
"""

from __future__ import annotations

import torch
from torch import nn

RGB = 3


def adapt_rgb_weight(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """(out, 3, kh, kw) RGB filters -> (out, in_channels, kh, kw) by the rule in the module docstring."""
    if weight.shape[1] != RGB:
        raise ValueError(f"expected RGB filters (out, 3, kh, kw), got shape {tuple(weight.shape)}")
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    cycled = weight[:, torch.arange(in_channels) % RGB]
    return cycled if in_channels == RGB else cycled * (RGB / in_channels)


def with_in_channels(conv: nn.Conv2d, in_channels: int, pretrained: bool) -> nn.Conv2d:
    """`conv`, an RGB first layer, remade for `in_channels` (itself where the count already fits): filters
    adapted when `pretrained`, else freshly initialised."""
    if conv.in_channels == in_channels:
        return conv
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode,
                    device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        if pretrained:
            new.weight.copy_(adapt_rgb_weight(conv.weight, in_channels))
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
        else:
            nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
            if new.bias is not None:
                nn.init.zeros_(new.bias)
    return new


def set_input_channels(model: nn.Module, in_channels: int, pretrained: bool) -> nn.Module:
    """Replace the first Conv2d of `model` (in module order: the stem of every backbone here) with one for
    `in_channels`; a no-op for 3, so RGB models stay exactly as built. Returns `model`."""
    if in_channels == RGB:
        return model
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    name, conv = next((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
    if conv.in_channels != RGB:
        raise ValueError(f"the first convolution of {type(model).__name__} ({name}) takes {conv.in_channels} "
                         "channels, not RGB")
    parent, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent), attribute, with_in_channels(conv, in_channels, pretrained))
    return model
