"""Losses for one-channel (binary) models and U2Net's deep supervision, and cross-entropy + Dice.

Every loss averages over non-ignored pixels only and is 0, not NaN, when a batch holds none.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.losses.terms import (
    HeadsLoss,
    binary_soft_dice,
    masked_bce,
    masked_cross_entropy,
    multiclass_soft_dice,
)
from seg_cli.models.contract import deep_supervision, model_outputs


class BinarySegmentationLoss(nn.Module):
    """BCE (+ dice_weight x soft Dice) on 'out'; deep-supervision outputs (U2Net's side1..side6, see
    seg_cli.models.contract) and an 'aux' head add weighted BCE.

    Args:
        ignore_index: target value excluded from the loss.
        dice_weight: weight of the soft Dice term on 'out' (0 disables it).
        side_weights: weights of the deep-supervision outputs in the model's order (default 1 each, as U2Net
            sums all seven BCE terms).
        aux_weight: weight of the BCE on a torchvision 'aux' head, when the model has one.
    """

    task = "binary"

    def __init__(
        self,
        ignore_index: int = 255,
        dice_weight: float = 0.0,
        side_weights: Sequence[float] | None = None,
        aux_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.dice_weight = dice_weight
        self.side_weights = list(side_weights) if side_weights is not None else None
        self.aux_weight = aux_weight

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = model_outputs(outputs)
        loss = masked_bce(outputs["out"], target, self.ignore_index)
        if self.dice_weight:
            loss = loss + self.dice_weight * binary_soft_dice(outputs["out"], target, self.ignore_index)
        for index, (name, logits) in enumerate(deep_supervision(outputs)):
            weight = 1.0 if self.side_weights is None else self._side_weight(index, name)
            if weight:
                loss = loss + weight * masked_bce(logits, target, self.ignore_index)
        if "aux" in outputs and self.aux_weight:
            loss = loss + self.aux_weight * masked_bce(outputs["aux"], target, self.ignore_index)
        return loss


    def _side_weight(self, index: int, name: str) -> float:
        if index >= len(self.side_weights):
            raise ConfigError(f"the model returns {name} but side_weights lists only {len(self.side_weights)}")
        return self.side_weights[index]


class DiceCrossEntropyLoss(HeadsLoss):
    """Cross-entropy + dice_weight x multi-class soft Dice on 'out', plus aux_weight x the same on 'aux'.

    The recipe of UNet on DRIVE-style data, where thin foreground structures make plain
    cross-entropy favour the background.
    """

    task = "multiclass"

    def __init__(self, ignore_index: int = 255, dice_weight: float = 1.0, aux_weight: float = 0.5) -> None:
        super().__init__(ignore_index, aux_weight)
        self.dice_weight = dice_weight

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = masked_cross_entropy(logits, target, self.ignore_index)
        if self.dice_weight:
            loss = loss + self.dice_weight * multiclass_soft_dice(logits, target, self.ignore_index)
        return loss
