"""Parameter groups: the one place that decides per-parameter lr and weight decay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from seg_cli.engine.freeze import in_prefixes
from seg_cli.models.contract import spec_of

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def _is_norm_or_bias(model: nn.Module) -> set[int]:
    """ids of biases and of normalisation-layer weights (decaying them hurts and buys nothing)."""
    found = {id(p) for m in model.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    return found | {id(p) for name, p in model.named_parameters() if name.endswith(".bias")}


def build_param_groups(model: nn.Module, lr: float, aux_lr_mult: float = 10.0,
                       norm_bias_weight_decay: float | None = None, backbone_lr_mult: float = 1.0,
                       backbone: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Main parameters at `lr`; the declared auxiliary heads at `lr * aux_lr_mult` (torchvision reference); with
    `backbone_lr_mult` other than 1, the parameters under the `backbone` module prefixes at `lr * backbone_lr_mult`.

    With `norm_bias_weight_decay` set, biases and norm weights get that weight decay (e.g. 0).
    Every parameter is in a group, frozen ones too (`train.freeze`): the optimizer skips them while they
    get no gradient, and trains them once a timed freeze ends.
    """
    special = _is_norm_or_bias(model) if norm_bias_weight_decay is not None else set()
    groups: dict[tuple[int, bool], list[nn.Parameter]] = {}
    aux_heads = spec_of(model).aux_heads
    for name, param in model.named_parameters():
        key = (_role(name, aux_heads, backbone if backbone_lr_mult != 1 else ()), id(param) in special)
        groups.setdefault(key, []).append(param)
    multipliers = {_MAIN: 1.0, _AUX: aux_lr_mult, _BACKBONE: backbone_lr_mult}
    result = []
    for (role, no_decay), params in sorted(groups.items()):  # main groups first, as before the backbone role
        group: dict[str, Any] = {"params": params}
        if role != _MAIN:
            group["lr"] = lr * multipliers[role]
        if no_decay:
            group["weight_decay"] = norm_bias_weight_decay
        result.append(group)
    return result


_MAIN, _AUX, _BACKBONE = 0, 1, 2


def _role(name: str, aux_heads: Sequence[str], backbone: Sequence[str]) -> int:
    name = name.removeprefix("module.")
    if in_prefixes(name, aux_heads):
        return _AUX
    if in_prefixes(name, backbone):
        return _BACKBONE
    return _MAIN
