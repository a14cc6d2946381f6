"""Softmax focal loss and class-weighted cross-entropy for multi-class models.

Both take per-class `class_weights` (e.g. seg_cli.data.class_weights) the way torch's cross-entropy takes
`weight=`: each pixel's term is multiplied by its target class's weight and the sum is divided by the
summed weights of the non-ignored pixels, so a focal loss with gamma=0 is exactly the weighted
cross-entropy. Every loss is 0, not NaN, when a batch holds no pixel that counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from seg_cli.errors import ConfigError
from seg_cli.losses.terms import HeadsLoss, multiclass_soft_dice
from seg_cli.models.contract import model_outputs

Weights = Sequence[float] | torch.Tensor | None


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int, gamma: float,
    alpha: torch.Tensor | None = None, class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of -alpha_t (1 - p_t)^gamma log p_t over non-ignored pixels (weighted by class_weights).

    Lin et al., "Focal Loss for Dense Object Detection" (2017), with the softmax probability p_t of the
    target class. `alpha` holds one factor per class (alpha_t is the target's); unlike `class_weights`
    it does not enter the denominator, so a uniform alpha scales the loss, as in the paper.
    """
    valid = target != ignore_index
    safe = torch.where(valid, target, 0)
    log_p = F.log_softmax(logits.float(), 1).gather(1, safe[:, None])[:, 0]
    # Clamped above 0 so that a gamma below 1 has a finite gradient where p_t rounds to exactly 1.
    modulating = (-torch.expm1(log_p)).clamp(min=torch.finfo(log_p.dtype).tiny).pow(gamma)
    terms = -modulating * log_p
    if alpha is not None:
        terms = terms * alpha.to(terms.device)[safe]
    return _weighted_mean(terms, safe, valid, class_weights)


def weighted_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """torch's cross-entropy with `weight=`, but 0 (not NaN) when no pixel counts."""
    valid = target != ignore_index
    safe = torch.where(valid, target, 0)
    terms = F.cross_entropy(logits.float(), safe, reduction="none")
    return _weighted_mean(terms, safe, valid, class_weights)


def _weighted_mean(
    terms: torch.Tensor, safe: torch.Tensor, valid: torch.Tensor, class_weights: torch.Tensor | None
) -> torch.Tensor:
    """Sum of the valid pixels' terms times their class weight, over the sum of those weights."""
    weight = valid.float()
    if class_weights is not None:
        weight = weight * class_weights.to(terms.device)[safe]
    # torch.where, not a product: a term may be inf where its weight is 0 (a -inf logit), and inf x 0 is NaN.
    total = torch.where(weight > 0, terms * weight, 0).sum()
    # With no weight at all the total is 0 as well; tiny, not 1, since weights need not be counts.
    return total / weight.sum().clamp(min=torch.finfo(weight.dtype).tiny)


def _per_class(values: float | Sequence[float] | torch.Tensor | None, name: str) -> torch.Tensor | None:
    """A float tensor of per-class values (a float is one value for all classes); None stays None."""
    if values is None:
        return None
    try:
        tensor = torch.as_tensor(values, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError):
        tensor = None
    if tensor is None or not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ConfigError(f"loss.{name}={values!r} must be a number or a list of finite numbers >= 0")
    return tensor


def _check_length(values: torch.Tensor | None, name: str, classes: int, one_for_all: bool = False) -> None:
    """One value per class the model outputs (or a single one, where `one_for_all`)."""
    if values is not None and values.numel() != classes and not (one_for_all and values.numel() == 1):
        raise ConfigError(f"loss.{name} lists {values.numel()} values but the model outputs {classes} classes")


class _WeightedLoss(HeadsLoss):
    """A per-logits term with per-class weights on 'out', plus aux_weight x the same term on 'aux'."""

    task = "multiclass"

    def __init__(self, ignore_index: int, class_weights: Weights, aux_weight: float) -> None:
        super().__init__(ignore_index, aux_weight)
        # A buffer follows .to(device); forward moves it too, since the trainer never moves the loss.
        self.register_buffer("class_weights", _per_class(class_weights, "class_weights"), persistent=False)

    def forward(self, outputs: torch.Tensor | dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        _check_length(self.class_weights, "class_weights", model_outputs(outputs)["out"].shape[1])
        return super().forward(outputs, target)


class WeightedCrossEntropyLoss(_WeightedLoss):
    """Cross-entropy with optional per-class weights, normalised by the weights of the valid pixels.

    Args:
        ignore_index: target value excluded from the loss.
        class_weights: one weight per class (None: unweighted, the same as SegmentationLoss).
        aux_weight: weight of the same loss on a torchvision 'aux' head, when the model has one.
    """

    def __init__(self, ignore_index: int = 255, class_weights: Weights = None, aux_weight: float = 0.5) -> None:
        super().__init__(ignore_index, class_weights, aux_weight)

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return weighted_cross_entropy(logits, target, self.ignore_index, self.class_weights)


class FocalLoss(_WeightedLoss):
    """Softmax focal loss (+ dice_weight x multi-class soft Dice) on 'out', and aux_weight x the same on 'aux'.

    Args:
        ignore_index: target value excluded from the loss.
        gamma: focusing exponent; 0 gives (weighted) cross-entropy, the paper's default is 2.
        alpha: balancing factor, one per class or one for all (None: 1).
        class_weights: per-class weights normalised like cross-entropy's `weight=` (None: unweighted).
        aux_weight: weight of the same loss on a torchvision 'aux' head, when the model has one.
        dice_weight: weight of the soft Dice term (0 disables it).
    """

    def __init__(
        self,
        ignore_index: int = 255,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        class_weights: Weights = None,
        aux_weight: float = 0.5,
        dice_weight: float = 0.0,
    ) -> None:
        super().__init__(ignore_index, class_weights, aux_weight)
        if gamma < 0:
            raise ConfigError(f"loss.gamma={gamma} must be >= 0")
        self.gamma = gamma
        self.dice_weight = dice_weight
        self.register_buffer("alpha", _per_class(alpha, "alpha"), persistent=False)

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_length(self.alpha, "alpha", logits.shape[1], one_for_all=True)
        alpha = self.alpha.expand(logits.shape[1]) if self.alpha is not None else None
        loss = focal_loss(logits, target, self.ignore_index, self.gamma, alpha, self.class_weights)
        if self.dice_weight:
            loss = loss + self.dice_weight * multiclass_soft_dice(logits, target, self.ignore_index)
        return loss
