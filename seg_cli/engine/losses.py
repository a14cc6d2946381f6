"""Training losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.models.build import model_outputs


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Mean cross-entropy over non-ignored pixels; 0 (not NaN) when a crop holds only ignored pixels."""
    total = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="sum")
    return total / (target != ignore_index).sum().clamp(min=1)


class SegmentationLoss(nn.Module):
    """Cross-entropy on 'out' plus `aux_weight` x cross-entropy on 'aux' when the model has one."""

    task = "multiclass"

    def __init__(self, ignore_index: int = 255, aux_weight: float = 0.5) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.aux_weight = aux_weight

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = model_outputs(outputs)
        loss = masked_cross_entropy(outputs["out"], target, self.ignore_index)
        if "aux" in outputs and self.aux_weight:
            loss = loss + self.aux_weight * masked_cross_entropy(outputs["aux"], target, self.ignore_index)
        return loss


def default_loss(task: str = "multiclass", ignore_index: int = 255, aux_weight: float = 0.5) -> nn.Module:
    """`loss=auto`: cross-entropy for multi-class datasets, BCE-with-logits for binary ones."""
    if task == "binary":
        from seg_cli.engine.binary_losses import BinarySegmentationLoss

        return BinarySegmentationLoss(ignore_index=ignore_index, aux_weight=aux_weight)
    return SegmentationLoss(ignore_index=ignore_index, aux_weight=aux_weight)
