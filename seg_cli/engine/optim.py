"""Parameter groups: the one place that decides per-parameter lr and weight decay."""

from __future__ import annotations

from typing import Any

from torch import nn

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def _is_norm_or_bias(model: nn.Module) -> set[int]:
    """ids of biases and of normalisation-layer weights (decaying them hurts and buys nothing)."""
    found = {id(p) for m in model.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    return found | {id(p) for name, p in model.named_parameters() if name.endswith(".bias")}


def build_param_groups(model: nn.Module, lr: float, aux_lr_mult: float = 10.0,
                       norm_bias_weight_decay: float | None = None) -> list[dict[str, Any]]:
    """Main parameters at `lr`; the auxiliary head at `lr * aux_lr_mult` (torchvision reference).

    With `norm_bias_weight_decay` set, biases and norm weights get that weight decay (e.g. 0).
    """
    special = _is_norm_or_bias(model) if norm_bias_weight_decay is not None else set()
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = (name.startswith("aux_classifier") or name.startswith("module.aux_classifier"), id(param) in special)
            groups.setdefault(key, []).append(param)
    result = []
    for (aux, no_decay), params in sorted(groups.items()):
        group: dict[str, Any] = {"params": params}
        if aux:
            group["lr"] = lr * aux_lr_mult
        if no_decay:
            group["weight_decay"] = norm_bias_weight_decay
        result.append(group)
    return result
