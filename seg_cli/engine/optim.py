"""Parameter groups: the one place that decides per-parameter lr and weight decay."""

from __future__ import annotations

from typing import Any

from torch import nn


def build_param_groups(model: nn.Module, lr: float, aux_lr_mult: float = 10.0) -> list[dict[str, Any]]:
    """Main parameters at `lr`; the auxiliary head at `lr * aux_lr_mult` (torchvision reference)."""
    main, aux = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (aux if name.startswith("aux_classifier") else main).append(param)
    groups: list[dict[str, Any]] = [{"params": main}]
    if aux:
        groups.append({"params": aux, "lr": lr * aux_lr_mult})
    return groups
