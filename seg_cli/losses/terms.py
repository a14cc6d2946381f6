"""Per-pixel loss terms shared by the losses: each averages over non-ignored pixels only, and is 0, not
NaN, when a batch holds none; and the sum of a term over a model's 'out' and 'aux' heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.contract import model_outputs

SMOOTH = 1.0  # added to the Dice numerator and denominator: an empty batch scores 1, a loss of 0


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Mean cross-entropy over non-ignored pixels; 0 (not NaN) when a crop holds only ignored pixels."""
    total = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="sum")
    return total / (target != ignore_index).sum().clamp(min=1)


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


class HeadsLoss(nn.Module):
    """`term` on 'out', plus aux_weight x the same term on 'aux' when the model has an auxiliary head."""

    def __init__(self, ignore_index: int, aux_weight: float) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.aux_weight = aux_weight

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = model_outputs(outputs)
        loss = self.term(outputs["out"], target)
        if "aux" in outputs and self.aux_weight:
            loss = loss + self.aux_weight * self.term(outputs["aux"], target)
        return loss
