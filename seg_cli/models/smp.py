"""segmentation-models-pytorch: every SMP architecture (Unet, FPN, DeepLabV3+, UPerNet, Segformer, DPT, ...) with any
of its encoders, timm's included as `tu-NAME`, brought to seg's model contract.

SMP models take H, W divisible by a stride that depends on the architecture and encoder and return bare logits.
`SmpAdapter` pads the input to what the model needs and crops the logits back, so any size works (the photo
`seg predict` gets, an odd validation image). The stride is read from the model (`encoder.output_stride`), with
two architecture rules found in SMP's source (`input_multiple`, `min_side`).

The library is imported inside the builder: `seg --help`, and reading SPEC to rebuild a checkpoint offline,
do not pay for it.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.contract import ContractAdapter, ModelSpec, to_contract

# SMP's encoder is the backbone (train.freeze=[backbone], train.backbone_lr_mult); SMP has no segmentation aux
# head (its aux_params is an image-level classifier, refused below); pretrained_backbone downloads the encoder.
# PSPNet (encoder_depth 3) or any `encoder_depth` below 5 leaves SMP's own encoders' deeper stages unused.
SPEC = ModelSpec(encoder=("model.encoder",), download_keys=("pretrained_backbone",), unused_parameters=True)
TIMM_PREFIX = "tu-"  # SMP's prefix for any timm model used as encoder
# Builder keywords set by seg's own keys (arch, encoder, ...) or that would break the contract: not options.
OWN_KEYS = {"encoder_name": "model.encoder", "encoder_weights": "model.pretrained_backbone",
            "in_channels": "model.in_channels (set by the dataset)", "classes": "model.num_classes (set by the dataset)"}
REFUSED = {"activation": "seg's losses and metrics take logits",
           "aux_params": "an image-level classification head, which seg does not train"}


def smp(
    num_classes: int, in_channels: int = 3, arch: str = "unet", encoder: str = "resnet18",
    pretrained_backbone: bool = False, options: Mapping[str, Any] | None = None,
) -> SmpAdapter:
    """The SMP architecture `arch` (smp.create_model's names) on `encoder` (an SMP encoder or `tu-<timm model>`);
    `options` go to the architecture (decoder_channels, encoder_depth, encoder_output_stride, ...)."""
    import segmentation_models_pytorch as smp_lib

    model_class = _architecture(smp_lib, arch)
    _check_encoder(smp_lib, encoder)
    kwargs = _architecture_options(model_class, arch, encoder, dict(options or {}))
    # True/"imagenet": timm encoders take a bool (their tag picks the weights), SMP's own encoders a source name.
    weights = (True if encoder.startswith(TIMM_PREFIX) else "imagenet") if pretrained_backbone else None
    try:
        model = model_class(encoder_name=encoder, encoder_weights=weights, in_channels=in_channels,
                            classes=num_classes, **kwargs)
    except (TypeError, ValueError, KeyError) as exc:  # SMP's and timm's checks of names and options
        culprit = next((key for key in kwargs if f"'{key}'" in str(exc)), None)  # a key timm did not take
        where = f"model.options.{culprit}" if culprit else f"model=smp (arch={arch}, encoder={encoder}, options={kwargs})"
        raise ConfigError(f"{where}: {exc}") from None
    return SmpAdapter(model, input_multiple(model), min_side(model))


class SmpAdapter(ContractAdapter):
    """An SMP model under the contract: input padded (bottom and right, with zeros) to a multiple of `multiple`
    and at least `min_side`, logits cropped back. Zeros are the dataset's mean colour after normalisation, what
    the training crops are padded with; reflection would show the model mirrored content and needs padding
    smaller than the image, which tiny inputs and PAN's minimum break."""

    def __init__(self, model: nn.Module, multiple: int, min_side: int = 1) -> None:
        super().__init__(model, SPEC)
        self.multiple, self.min_side = multiple, min_side  # plain ints: the state_dict keeps only `model.`

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        height, width = images.shape[-2:]
        padded = F.pad(images, (0, self.padding(width), 0, self.padding(height)))
        logits = self.model(padded)[..., :height, :width]  # SMP's heads return logits at the padded size
        return to_contract(logits, (height, width))

    def padding(self, size: int) -> int:
        """Pixels to add to a side of `size` pixels (integer arithmetic, so ONNX export keeps H, W dynamic)."""
        to_multiple = (-size) % self.multiple
        return max(self.min_side - size, to_multiple) if self.min_side > 1 else to_multiple


def input_multiple(model: nn.Module) -> int:
    """What H and W of an SMP model's input must divide by: its encoder's output stride where the model checks it
    (SMP's `requires_divisible_input_shape`; Unet takes any size), for DPT also 2**(depth+1), as its decoder
    reassembles the last ViT feature at half resolution and fuses it back by x2 up-sampling."""
    if not getattr(model, "requires_divisible_input_shape", True):
        return 1
    multiple = int(model.encoder.output_stride)
    strides = getattr(model.encoder, "output_strides", None)  # the ViT encoder of DPT
    if type(model).__name__ == "DPT" and strides:
        multiple = math.lcm(multiple, 2 ** (len(strides) + 1))
    return multiple


def min_side(model: nn.Module) -> int:
    """The smallest side an SMP model takes: PAN's feature pyramid attention max-pools its input three times
    by 2, so the encoder's last feature needs at least 8 pixels a side."""
    return 8 * int(model.encoder.output_stride) if type(model).__name__ == "PAN" else 1


def _architecture(smp_lib: Any, arch: str) -> type[nn.Module]:
    names = smp_lib.MODEL_ARCHITECTURES_MAPPING
    if str(arch).lower() not in names:
        raise ConfigError(f"model.arch={arch} is not an SMP architecture{_close(arch, names)}; "
                          f"known: {', '.join(names)}")
    return names[str(arch).lower()]


def _check_encoder(smp_lib: Any, encoder: str) -> None:
    if encoder.startswith(TIMM_PREFIX):
        import timm

        name = encoder.removeprefix(TIMM_PREFIX)
        if not timm.is_model(name):
            raise ConfigError(f"model.encoder={encoder} is not a timm model"
                              f"{_close(name, timm.list_models(), TIMM_PREFIX)} (timm.list_models() lists them)")
    elif encoder not in smp_lib.encoders.get_encoder_names():
        raise ConfigError(f"model.encoder={encoder} is not an SMP encoder"
                          f"{_close(encoder, smp_lib.encoders.get_encoder_names())}; any timm model works as "
                          f"tu-NAME")


def _close(name: str, known: Any, prefix: str = "") -> str:
    matches = difflib.get_close_matches(str(name), list(known), n=5)
    return f"; close: {', '.join(prefix + m for m in matches)}" if matches else ""


def _architecture_options(model_class: type[nn.Module], arch: str, encoder: str,
                          options: dict[str, Any]) -> dict[str, Any]:
    """`options` checked against the architecture's keywords; keys it does not name reach the encoder, which
    only timm encoders read (SMP's own would ignore them silently)."""
    params = inspect.signature(model_class).parameters
    named = [name for name, p in params.items() if p.kind is not p.VAR_KEYWORD and name not in OWN_KEYS]
    for key in options:
        if key in OWN_KEYS:
            raise ConfigError(f"model.options.{key} is set by {OWN_KEYS[key]}")
        if key in REFUSED:
            raise ConfigError(f"model.options.{key} is not allowed: {REFUSED[key]}")
        if key not in named and not encoder.startswith(TIMM_PREFIX):
            raise ConfigError(f"model.options.{key} is not an option of SMP {arch}{_close(key, named)}; "
                              f"it takes: {', '.join(n for n in named if n not in REFUSED)}")
    if model_class.__name__ == "DPT":
        options.setdefault("dynamic_img_size", True)  # ViT position embeddings resized to any input size
    return options
