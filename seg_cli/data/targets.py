"""What a training target is and how it travels: from the file reader, through the augment steps and the
eval collation, into the loss. One `Target` per kind of target; the class-index map is the only one today.

The augment steps and transforms apply torchvision.transforms.v2 functionals to the image and its target
alike (`paired`). v2 picks each call's kernel by the tensor's tv_tensor type (v2.functional.register_kernel),
so the target's type, not the step, decides how it is resampled and padded: a class-index target travels
as a tv_tensors.Mask, resampled nearest-neighbour whatever interpolation the image gets, and padded with the
fill it is given. The fill a step gives a target always means "no label here" (the dataset's ignore index):
a class target writes it; another type may mark those pixels invalid its own way.

A new kind of target is one module: a TVTensor subclass with its kernels registered, and a Target subclass
naming it, which its task returns (seg_cli.data.alpha: float alpha mattes, resized bilinearly, with a weight
channel that marks padded pixels invalid). The steps, the collation and the training loop ask the Target and
stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torchvision import tv_tensors

from seg_cli.data.io import check_labels


class Target:
    """A kind of target: the tv_tensor type the v2 kernels dispatch on, and the rules around it.

    Targets are (..., H, W): leading dimensions (channels of a continuous target) travel along.
    """

    tensor_type: type[tv_tensors.TVTensor]
    reads_labels = True  # files hold labels the dataset's label convention maps (class indices, 0/255, colours)

    def read(self, path: str | Path, labels: Any = None) -> torch.Tensor:
        """A target file as stored; a class target reads it by the dataset's label convention `labels`."""
        return labels.read(path)

    def typed(self, target: torch.Tensor, label_count: int, ignore_index: int, source: str) -> torch.Tensor:
        """A loaded target, checked and in the dtype datasets return and cache (`source` names it in errors)."""
        raise NotImplementedError

    def reads_0_255(self, label_count: int, ignore_index: int, maps_values: bool) -> bool:
        """Whether stored 0/255 masks may mean background/foreground (holds_0_255)."""
        return False

    def wrap(self, target: torch.Tensor) -> tv_tensors.TVTensor:
        """The target as its tv_tensor type, for the transforms (no copy)."""
        return self.tensor_type(target)

    def pad_value(self, ignore_index: int) -> float:
        """What eval collation pads targets of different sizes with."""
        raise NotImplementedError

    def for_loss(self, target: torch.Tensor) -> torch.Tensor:
        """A collated batch of targets as the loss takes it."""
        raise NotImplementedError

    def collate(self, targets: Sequence[torch.Tensor], ignore_index: int) -> torch.Tensor:
        """Targets of different sizes stacked, each at the top left, the rest filled with `pad_value`."""
        height, width = (max(t.shape[-2 + i] for t in targets) for i in (0, 1))
        first = targets[0]
        batch = first.new_full((len(targets), *first.shape[:-2], height, width), self.pad_value(ignore_index))
        for i, target in enumerate(targets):
            batch[i, ..., : target.shape[-2], : target.shape[-1]] = target
        return batch


class ClassTarget(Target):
    """Class indices 0..label_count-1 (or the ignore index) as uint8: resampled nearest-neighbour, padded and
    rotated in with the ignore index (so those pixels cost no loss), int64 for the loss."""

    tensor_type = tv_tensors.Mask

    def typed(self, target: torch.Tensor, label_count: int, ignore_index: int, source: str) -> torch.Tensor:
        check_labels(target, label_count, ignore_index, source)
        return target.to(torch.uint8)

    def reads_0_255(self, label_count: int, ignore_index: int, maps_values: bool) -> bool:
        """Two labels, 255 the ignore index, and stored values not mapped by a label_map."""
        return label_count == 2 and ignore_index == 255 and not maps_values

    def pad_value(self, ignore_index: int) -> float:
        return ignore_index

    def for_loss(self, target: torch.Tensor) -> torch.Tensor:
        return target.long()


CLASS_TARGET = ClassTarget()


def holds_0_255(mask: torch.Tensor) -> bool | None:
    """Whether a dataset whose first telling mask is `mask` stores binary masks as 0/255.

    A class-target rule, applied by both the dataset's lazy check (SegmentationDataset._map_binary_255) and
    FolderSegmentation's start-up probe: a mask without any non-zero value cannot tell (None); otherwise it
    says 0/255 when it holds no value but 0 and 255.
    """
    if not bool(mask.any()):
        return None
    return not bool(((mask != 0) & (mask != 255)).any())


def labels_from_0_255(mask: torch.Tensor) -> torch.Tensor:
    """A 0/255 binary mask as labels 0/1 (255 is foreground here, not the ignore label)."""
    return (mask == 255).to(torch.uint8)


def as_tv_tensor(target: torch.Tensor) -> tv_tensors.TVTensor:
    """A target as the transforms take it: a plain tensor is a class-index map (the contract before target
    types); a tv_tensor keeps its type."""
    return target if isinstance(target, tv_tensors.TVTensor) else CLASS_TARGET.wrap(target)


def paired(functional: Callable[..., Any], image: torch.Tensor, target: torch.Tensor, *args: Any,
           fill: tuple[float, float] | None = None, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """One v2 functional (`F.resize`, `F.rotate`, ...) applied to an image and its target with the same
    arguments; each tensor's kernel reads them for its type (a class target ignores `interpolation`).
    `fill`: (image fill, target fill) for the functionals that uncover pixels."""
    target = as_tv_tensor(target)
    if fill is None:
        return functional(image, *args, **kwargs), functional(target, *args, **kwargs)
    return functional(image, *args, fill=fill[0], **kwargs), functional(target, *args, fill=fill[1], **kwargs)
