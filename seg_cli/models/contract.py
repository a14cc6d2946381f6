"""The model contract: what seg's engine, losses and export expect of a model, and how a family says so.

Output. `model(images)` for a (B, in_channels, H, W) batch returns

- a dict {"out": logits, "aux": logits (optional), further keys (optional)}: every value (B, C, H, W), at the
  input size; "out" is what eval, predict and export use; "aux" is an auxiliary head's logits, trained with
  the loss's `aux_weight`; "loss_inputs" (optional, in training mode only) holds a model's raw outputs for the
  loss it declares (`ModelSpec.loss`: Mask2Former's class and mask queries), in whatever form that loss reads;
  any further keys are deep-supervision outputs (U2Net's side1..side6), listed in the order the loss's
  `side_weights` weigh them;
- or a bare tensor, shorthand for {"out": tensor}.

`model_outputs` reads either form. A library whose models return something else (a `ModelOutput` with
`.logits`, quarter-resolution logits as SegFormer's) is wrapped in `ContractAdapter`, which brings its
output to the contract; its builder returns the wrapped model.

Declaration. A family states, in one `ModelSpec` (a module-level `SPEC`, set on its models as `seg_spec`):

- `encoder`: the top-level modules of its encoder (`train.freeze=[backbone]`, `train.backbone_lr_mult`);
- `aux_heads`: its auxiliary heads (`train.aux_lr_mult`; dropped for export by setting them to None, which
  the model must skip, as torchvision's do);
- `download_keys`: its builder keywords that download weights (switched off when weights come from a file);
- `loss`: the `_target_` of the loss the model trains with (a loss class reading "loss_inputs"): `loss=auto`
  builds it and any other loss is refused; empty for a model of per-pixel logits, which the task's loss trains;
- `unused_parameters`: some parameters may get no gradient in a training step (a library model's layers its
  configuration leaves out: SMP encoder stages below `encoder_depth`, DPT's last norm), so DDP must look
  for them each step.

Rebuilding. A checkpoint stores the run config; a model whose builder reads more than that config (a hub
config from a cache) returns, from `rebuild_keys()`, the builder keywords that make it rebuild without that.

Published whole-network weights come through a provider (seg_cli.models.published). A model that declares
nothing is read with torchvision's names: encoder `backbone`, aux head `aux_classifier`, where they exist.

Export size. `size_bound(model)` says whether an exported graph of the model is right only at the input size it
was exported at: true for pooling to a fixed grid of bins (PSPNet's and UperNet's pyramid pooling, which ONNX
bakes for the export size), unless the model's adapter declares otherwise: `size_bound = True` for a reason the
pooling rule cannot see (one line in the adapter class), `False` where the adapter feeds the pooling one size
anyway. ONNX export then fixes the input size and says so (a trace keeps the pooling itself, any size).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.weight_keys import DOWNLOAD_KEYS
from seg_cli.utils import import_target

OUT, AUX, LOSS_INPUTS = "out", "aux", "loss_inputs"
SPEC_ATTRIBUTE = "seg_spec"  # the attribute a model (class or instance) carries its ModelSpec in


@dataclass(frozen=True)
class ModelSpec:
    """What a model family declares (see the module docstring); names are `named_modules()` names."""

    encoder: tuple[str, ...] = ()
    aux_heads: tuple[str, ...] = ()
    download_keys: tuple[str, ...] = ()
    loss: str = ""
    unused_parameters: bool = False


# The reading of a model that declares nothing: torchvision's module names, the conventional download keys.
UNDECLARED = ModelSpec(encoder=("backbone",), aux_heads=("aux_classifier",), download_keys=DOWNLOAD_KEYS)


def declare(model: nn.Module, spec: ModelSpec) -> nn.Module:
    """`model` carrying `spec` (a plain attribute: state_dict keys do not change)."""
    setattr(model, SPEC_ATTRIBUTE, spec)
    return model


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel and/or torch.compile wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None)
        if inner is None:
            inner = getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def spec_of(model: nn.Module) -> ModelSpec:
    """The declaration of `model` (wrappers looked through), keeping only the modules it really has."""
    model = unwrap_model(model)
    spec = getattr(model, SPEC_ATTRIBUTE, None) or UNDECLARED
    names = {name for name, _ in model.named_modules() if name}
    return replace(spec, encoder=tuple(n for n in spec.encoder if n in names),
                   aux_heads=tuple(n for n in spec.aux_heads if n in names))


def family_spec(model_cfg: Mapping[str, Any]) -> ModelSpec:
    """The declaration of the family whose builder a model config's `_target_` names (its module's `SPEC`),
    read without building the model (moved targets followed, as the builder's are)."""
    try:
        builder = import_target(str(model_cfg.get("_target_", "")))
    except ConfigError:  # a target that does not import fails later, with the builder's own message
        return UNDECLARED
    return getattr(sys.modules.get(builder.__module__), "SPEC", UNDECLARED)


def rebuild_keys(model: nn.Module) -> dict[str, Any]:
    """Model config keys a checkpoint stores besides the run's own, so that it rebuilds on another machine (a
    family whose builder reads something outside the config, such as a hub's cache, returns them from its
    model's `rebuild_keys()`; other models need none)."""
    keys = getattr(unwrap_model(model), "rebuild_keys", None)
    return dict(keys()) if callable(keys) else {}


def size_bound(model: nn.Module) -> bool:
    """Whether an exported graph of `model` is right only at its export size (see the module docstring)."""
    model = unwrap_model(model)
    declared = getattr(model, "size_bound", None)
    return pools_to_bins(model) if declared is None else bool(declared)


def pools_to_bins(model: nn.Module) -> bool:
    """Whether `model` pools adaptively to more than one bin a side (a grid whose kernel depends on the size)."""
    pools = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    return any(_bins(module.output_size) != {1} for module in model.modules() if isinstance(module, pools))


def _bins(output_size: Any) -> set[Any]:
    return set(output_size) if isinstance(output_size, tuple | list) else {output_size}


def model_outputs(outputs: torch.Tensor | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A contract output (dict or bare tensor) as a dict with "out"."""
    return outputs if isinstance(outputs, dict) else {OUT: outputs}


def deep_supervision(outputs: Mapping[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    """The deep-supervision outputs of a contract dict: every key besides "out", "aux" and "loss_inputs", in order."""
    return [(name, value) for name, value in outputs.items() if name not in (OUT, AUX, LOSS_INPUTS)]


def to_contract(raw: Any, size: tuple[int, int] | torch.Size) -> dict[str, torch.Tensor]:
    """Another library's output as the contract dict at `size`: a tensor, a contract dict, or an object with
    `.logits` (and optionally `.aux_logits`), such as a transformers `ModelOutput`; smaller logits are
    resized bilinearly (as the losses would)."""
    if isinstance(raw, torch.Tensor):
        outputs = {OUT: raw}
    elif isinstance(raw, Mapping) and OUT in raw:
        outputs = dict(raw)
    elif getattr(raw, "logits", None) is not None:
        outputs = {OUT: raw.logits}
        if getattr(raw, "aux_logits", None) is not None:
            outputs[AUX] = raw.aux_logits
    else:
        raise TypeError(f"a model output of type {type(raw).__name__} meets no form of the model contract")
    return {name: _at_size(value, tuple(size)) for name, value in outputs.items()}


def _at_size(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(logits.shape[-2:]) == size:
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


class ContractAdapter(nn.Module):
    """A model of another library brought to the contract (`to_contract`), declaring `spec`.

    Its state_dict keys, and so the module names in `spec`, gain the prefix `model.` (`model.decode_head`):
    a family adopts the adapter from its first version, so no checkpoint's keys change.
    """

    # Whether an exported graph is right only at its export size; None: as pools_to_bins finds (see size_bound).
    size_bound: bool | None = None

    def __init__(self, model: nn.Module, spec: ModelSpec = ModelSpec()) -> None:
        super().__init__()
        self.model = model
        declare(self, spec)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return to_contract(self.model(images), images.shape[-2:])
