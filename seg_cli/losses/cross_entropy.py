"""Cross-entropy, the default loss of multi-class models, and `loss=auto`."""

from __future__ import annotations

import torch
from torch import nn

from seg_cli.choices import DEFAULT_TASK
from seg_cli.losses.terms import HeadsLoss, masked_cross_entropy


class SegmentationLoss(HeadsLoss):
    """Cross-entropy on 'out' plus `aux_weight` x cross-entropy on 'aux' when the model has one."""

    task = "multiclass"

    def __init__(self, ignore_index: int = 255, aux_weight: float = 0.5) -> None:
        super().__init__(ignore_index, aux_weight)

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return masked_cross_entropy(logits, target, self.ignore_index)


def default_loss(task: str = DEFAULT_TASK, ignore_index: int = 255, aux_weight: float = 0.5) -> nn.Module:
    """`loss=auto`: the task's default loss (Task.default_loss): cross-entropy for multi-class datasets,
    BCE-with-logits for binary ones."""
    from seg_cli.tasks import get_task

    return get_task(task).default_loss(ignore_index, aux_weight)
