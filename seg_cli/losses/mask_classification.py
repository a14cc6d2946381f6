"""Mask2Former's mask-classification loss on seg's semantic targets (`loss=mask2former`; what `loss=auto` builds for a
model that declares it, seg_cli.models.hf_mask2former).

Each image's (H, W) class-index target becomes the classes it holds and one binary mask per class, as
transformers' image processor and the reference implementation's semantic mapper make them. Ignored pixels
(`ignore_index`: void borders, crop padding, and the padding the adapter adds) are in no class's mask, so no
class is trained on them; they are background for the matched queries' masks, since transformers' loss samples
its points (uniformly and where the masks are uncertain) with no per-pixel weight, and leaving them out would
mean re-implementing it. The reference implementation trains the same way. An image holding only ignored pixels
has no mask: all its queries learn the null class.

transformers' `Mask2FormerLoss` does the rest: Hungarian matching (scipy), cross-entropy of the classes with the
null class weighted `no_object_weight`, and sigmoid BCE and Dice on `num_points` sampled points, for the last
decoder layer and each auxiliary one, weighted and summed as `Mask2FormerForUniversalSegmentation` does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.contract import LOSS_INPUTS, model_outputs


class MaskClassificationLoss(nn.Module):
    """Mask2Former's loss (the defaults are transformers' Mask2FormerConfig's, the paper's).

    Args:
        ignore_index: target value in no class's mask.
        class_weight: weight of the class cross-entropy (and of the class cost in the matching).
        mask_weight: weight of the masks' sigmoid BCE (and its cost).
        dice_weight: weight of the masks' Dice loss (and its cost).
        no_object_weight: cross-entropy weight of the null class, which unmatched queries learn.
        num_points: points sampled per mask for the mask terms and the matching costs.
        oversample_ratio: candidate points per sampled point, of which the most uncertain are kept.
        importance_sample_ratio: share of the points chosen by uncertainty; the rest are uniform.
    """

    task = "multiclass"
    option = "mask2former"  # the configs/loss YAML that builds it, for messages
    model_specific = True  # trains only the models whose ModelSpec.loss names it (cross_entropy.check_model_loss)
    wrong_model = ("loss=mask2former trains Mask2Former models (model=hf with a Mask2Former model.name); this model "
                   "returns per-pixel logits: set loss=auto")

    def __init__(self, ignore_index: int = 255, class_weight: float = 2.0, mask_weight: float = 5.0,
                 dice_weight: float = 5.0, no_object_weight: float = 0.1, num_points: int = 12544,
                 oversample_ratio: float = 3.0, importance_sample_ratio: float = 0.75) -> None:
        super().__init__()
        if not 0 <= importance_sample_ratio <= 1 or oversample_ratio < 1 or num_points < 1:
            raise ConfigError(f"loss.num_points={num_points} must be >= 1, loss.oversample_ratio={oversample_ratio} "
                              f">= 1 and loss.importance_sample_ratio={importance_sample_ratio} in [0, 1]")
        self.ignore_index = ignore_index
        self.weights = {"loss_cross_entropy": class_weight, "loss_mask": mask_weight, "loss_dice": dice_weight}
        # The keys of transformers' Mask2FormerConfig, typed as it checks them (a YAML 2 is an int)
        self.settings = {"no_object_weight": float(no_object_weight), "train_num_points": int(num_points),
                         "oversample_ratio": float(oversample_ratio),
                         "importance_sample_ratio": float(importance_sample_ratio),
                         **{f"{name}_weight": float(weight) for name, weight in
                            (("class", class_weight), ("mask", mask_weight), ("dice", dice_weight))}}
        self.criterion: nn.Module | None = None  # transformers' loss, built for the model's class count

    def forward(self, outputs: torch.Tensor | dict[str, Any], target: torch.Tensor) -> torch.Tensor:
        raw = model_outputs(outputs).get(LOSS_INPUTS)
        if raw is None:
            raise ConfigError(self.wrong_model)
        classes = raw["class_queries_logits"].float()
        criterion = self._criterion(classes.shape[-1] - 1, classes.device)
        class_labels, mask_labels = mask_targets(pad_target(target, raw["size"], self.ignore_index), self.ignore_index)
        auxiliary = [{name: value.float() for name, value in layer.items()} for layer in raw["auxiliary_logits"] or []]
        with torch.autocast(classes.device.type, enabled=False):  # matching costs and point losses in float32
            terms = criterion(raw["masks_queries_logits"].float(), classes, mask_labels, class_labels,
                              auxiliary or None)
        # "loss_mask_0" is the mask term of the first auxiliary layer: weighed as "loss_mask"
        return sum(self.weights[name.rstrip("_0123456789")] * value for name, value in terms.items())

    def _criterion(self, num_classes: int, device: torch.device) -> nn.Module:
        if self.criterion is None or self.criterion.num_labels != num_classes:
            from transformers import Mask2FormerConfig
            from transformers.models.mask2former.modeling_mask2former import Mask2FormerLoss

            config = Mask2FormerConfig(num_labels=num_classes, **self.settings)
            self.criterion = Mask2FormerLoss(config, weight_dict=self.weights)
        return self.criterion.to(device)


def pad_target(target: torch.Tensor, size: tuple[int, int], ignore_index: int) -> torch.Tensor:
    """(B, H, W) targets padded with `ignore_index` (bottom, right) to the `size` the model's masks cover."""
    height, width = target.shape[-2:]
    return F.pad(target, (0, size[1] - width, 0, size[0] - height), value=ignore_index)


def mask_targets(target: torch.Tensor, ignore_index: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per image of a (B, H, W) target: the classes it holds, ignore_index dropped (int64, ascending), and their
    (n, H, W) float masks."""
    class_labels, mask_labels = [], []
    for labels in target:
        classes = labels.unique()
        classes = classes[classes != ignore_index]
        class_labels.append(classes.long())
        mask_labels.append((labels[None] == classes[:, None, None]).float())
    return class_labels, mask_labels
