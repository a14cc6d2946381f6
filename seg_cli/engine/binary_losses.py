"""Losses for one-channel (binary) models, U2Net's deep supervision, and cross-entropy + Dice.

Every loss averages over non-ignored pixels only and is 0, not NaN, when a batch holds none.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.engine.losses import masked_cross_entropy
from seg_cli.errors import ConfigError
from seg_cli.models.build import model_outputs

SMOOTH = 1.0  # added to the Dice numerator and denominator: an empty batch scores 1, a loss of 0
SIDE_OUTPUTS = tuple(f"side{i}" for i in range(1, 7))


def masked_bce(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Mean binary cross-entropy with logits over pixels whose target is not `ignore_index`."""
    logits = _one_channel(logits, target)
    valid = target != ignore_index
    labels = torch.where(valid, target, 0).float()
    total = F.binary_cross_entropy_with_logits(logits, labels, weight=valid.float(), reduction="sum")
    return total / valid.sum().clamp(min=1)


def binary_soft_dice(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """1 - soft Dice of sigmoid(logits) and the 0/1 target, pooled over the batch's valid pixels."""
    logits = _one_channel(logits, target)
    valid = (target != ignore_index).float()
    prob = torch.sigmoid(logits) * valid
    labels = (target == 1).float() * valid
    dice = (2 * (prob * labels).sum() + SMOOTH) / (prob.sum() + labels.sum() + SMOOTH)
    return 1 - dice


def multiclass_soft_dice(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """1 - soft Dice of softmax(logits) and the one-hot target per class, averaged over the classes."""
    valid = target != ignore_index
    prob = logits.float().softmax(1) * valid[:, None]
    one_hot = F.one_hot(torch.where(valid, target, 0), logits.shape[1]).permute(0, 3, 1, 2).float()
    one_hot = one_hot * valid[:, None]
    dims = (0, 2, 3)
    dice = (2 * (prob * one_hot).sum(dims) + SMOOTH) / (prob.sum(dims) + one_hot.sum(dims) + SMOOTH)
    return 1 - dice.mean()


def _one_channel(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w) logits as float (B, H, W), resized to the target's size when they differ."""
    if logits.shape[1] != 1:
        raise ConfigError(
            f"a binary loss needs a one-channel model output, got {logits.shape[1]} channels; "
            "set dataset.num_classes=1 (model.num_classes follows it)"
        )
    logits = logits.float()
    if logits.shape[-2:] != target.shape[-2:]:
        logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    return logits[:, 0]


class BinarySegmentationLoss(nn.Module):
    """BCE (+ dice_weight x soft Dice) on 'out'; U2Net's side1..side6 and an 'aux' head add weighted BCE.

    Args:
        ignore_index: target value excluded from the loss.
        dice_weight: weight of the soft Dice term on 'out' (0 disables it).
        side_weights: weights of side1, side2, ... (default 1 each, as U2Net sums all seven BCE terms).
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
        self.side_weights = list(side_weights) if side_weights is not None else [1.0] * len(SIDE_OUTPUTS)
        self.aux_weight = aux_weight

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = model_outputs(outputs)
        loss = masked_bce(outputs["out"], target, self.ignore_index)
        if self.dice_weight:
            loss = loss + self.dice_weight * binary_soft_dice(outputs["out"], target, self.ignore_index)
        for index, name in enumerate(SIDE_OUTPUTS):
            if name not in outputs:
                continue
            if index >= len(self.side_weights):
                raise ConfigError(f"the model returns {name} but side_weights lists only {len(self.side_weights)}")
            if self.side_weights[index]:
                loss = loss + self.side_weights[index] * masked_bce(outputs[name], target, self.ignore_index)
        if "aux" in outputs and self.aux_weight:
            loss = loss + self.aux_weight * masked_bce(outputs["aux"], target, self.ignore_index)
        return loss


class DiceCrossEntropyLoss(nn.Module):
    """Cross-entropy + dice_weight x multi-class soft Dice on 'out', plus aux_weight x the same on 'aux'.

    The recipe of UNet on DRIVE-style data, where thin foreground structures make plain
    cross-entropy favour the background.
    """

    task = "multiclass"

    def __init__(self, ignore_index: int = 255, dice_weight: float = 1.0, aux_weight: float = 0.5) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.dice_weight = dice_weight
        self.aux_weight = aux_weight

    def _term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = masked_cross_entropy(logits, target, self.ignore_index)
        if self.dice_weight:
            loss = loss + self.dice_weight * multiclass_soft_dice(logits, target, self.ignore_index)
        return loss

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = model_outputs(outputs)
        loss = self._term(outputs["out"], target)
        if "aux" in outputs and self.aux_weight:
            loss = loss + self.aux_weight * self._term(outputs["aux"], target)
        return loss
