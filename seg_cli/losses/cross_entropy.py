"""Cross-entropy, the default loss of multi-class models, and `loss=auto` with the rule of models that declare
their own loss."""

from __future__ import annotations

import torch
from torch import nn

from seg_cli.choices import DEFAULT_TASK
from seg_cli.errors import ConfigError
from seg_cli.losses.terms import HeadsLoss, masked_cross_entropy
from seg_cli.models.contract import spec_of
from seg_cli.utils import import_target


class SegmentationLoss(HeadsLoss):
    """Cross-entropy on 'out' plus `aux_weight` x cross-entropy on 'aux' when the model has one."""

    task = "multiclass"

    def __init__(self, ignore_index: int = 255, aux_weight: float = 0.5) -> None:
        super().__init__(ignore_index, aux_weight)

    def term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return masked_cross_entropy(logits, target, self.ignore_index)


def default_loss(task: str = DEFAULT_TASK, ignore_index: int = 255, aux_weight: float = 0.5,
                 model: nn.Module | None = None) -> nn.Module:
    """`loss=auto`: the loss `model` declares (ModelSpec.loss: Mask2Former's mask classification), else the task's
    default loss (Task.default_loss): cross-entropy for multi-class datasets, BCE-with-logits for binary ones.
    `model` is the built model, which seg_cli.engine.training.build_criterion passes in."""
    from seg_cli.tasks import get_task

    own = spec_of(model).loss if model is not None else ""
    if not own:
        return get_task(task).default_loss(ignore_index, aux_weight)
    loss_class = import_target(own)
    if not get_task(task).fits_loss(loss_class):
        raise ConfigError(f"dataset.task={task}: the model trains with loss={loss_class.option}, a loss for "
                          f"{loss_class.task} tasks; set dataset.task={loss_class.task} or choose another model")
    return loss_class(ignore_index=ignore_index)


def check_model_loss(criterion: nn.Module, model: nn.Module) -> None:
    """A model that declares its loss (ModelSpec.loss) trains with that loss only, and such a loss
    (`model_specific`) trains only the models that declare it: either mismatch is one line before the first step."""
    own = spec_of(model).loss
    if own and not isinstance(criterion, import_target(own)):
        option = import_target(own).option
        raise ConfigError(f"this model trains with its own loss, loss={option} (loss=auto picks it), not a "
                          f"per-pixel loss: set loss=auto or loss={option}")
    if not own and getattr(criterion, "model_specific", False):
        raise ConfigError(criterion.wrong_model)
