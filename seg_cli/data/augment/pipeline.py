"""An AugmentPipeline from `augment.steps` (plain dicts) and the dataset's values, every bad entry named."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torchvision import tv_tensors

from seg_cli.data.augment.registry import STEPS, Step, is_number
from seg_cli.data.targets import CLASS_TARGET, Target
from seg_cli.data.transforms import NormalizeImage
from seg_cli.errors import ConfigError


class AugmentPipeline:
    """Steps applied in order, each with its probability, then normalisation (of the final crop only).

    Every draw comes from torch's default generator, which the dataset seeds per sample
    (seg_cli.data.base.SegmentationDataset.__getitem__), so a sample's augmentation depends on its seed alone.
    The mask travels as its `target` type (seg_cli.data.targets), which decides how each step moves it.
    """

    def __init__(self, steps: Sequence[tuple[float, Step]], mean: Sequence[float], std: Sequence[float],
                 target: Target = CLASS_TARGET) -> None:
        self.steps = [(p, step) for p, step in steps if p > 0]
        self.normalize = NormalizeImage(mean, std)
        self.target = target

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = tv_tensors.Image(image), self.target.wrap(mask)
        for p, step in self.steps:
            # A step with p = 1 draws no coin, so the draws of the steps after it stay as they were.
            if p < 1 and torch.rand(1) >= p:
                continue
            image, mask = step(image, mask)
        return self.normalize(image.as_subclass(torch.Tensor)), mask.as_subclass(torch.Tensor)


def build_augment(augment: Any, dataset: dict[str, Any], mean: Sequence[float], std: Sequence[float],
                  target: Target = CLASS_TARGET) -> AugmentPipeline:
    """The pipeline of the `augment` config ({"steps": [...]}); `dataset` holds the values steps take from
    the dataset config (base_size, crop_size, scale_range, hflip_prob, resize, ignore_index, in_channels);
    `target` is the task's kind of mask."""
    steps = augment.get("steps") if isinstance(augment, dict) else None
    if not isinstance(steps, list):
        raise ConfigError(f"augment.steps={steps!r} is not allowed; give a list of steps, e.g. "
                          "[{name: hflip, p: 0.5}] (or pick augment=default|none|strong)")
    return AugmentPipeline([build_step(i, spec, dataset) for i, spec in enumerate(steps)], mean, std, target)


def build_step(index: int, spec: Any, dataset: dict[str, Any]) -> tuple[float, Step]:
    """(probability, step) of entry `index`; a ConfigError names `augment.steps[index].<key>`."""
    where = f"augment.steps[{index}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}={spec!r} is not allowed; give a mapping such as {{name: hflip, p: 0.5}}")
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in STEPS:
        raise ConfigError(f"{where}.name={name!r} is not an augmentation step; choose from: {', '.join(sorted(STEPS))}")
    cls = STEPS[name]
    for key, dataset_key in cls.from_dataset.items():
        if spec.get(key) is None:
            spec[key] = dataset[dataset_key]
    p = spec.pop("p", None)
    p = cls.p if p is None else p
    if not is_number(p) or not 0 <= p <= 1:
        raise ConfigError(f"{where}.p={p!r} is not allowed; give a probability in [0, 1]")
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(spec) - set(accepted))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]} is not a key of step {name}; it takes: {', '.join(['p', *accepted])}")
    try:
        step = cls(**spec)
    except ConfigError as exc:  # the constructor names the key; say which entry it is in
        raise ConfigError(f"{where}.{exc}") from None
    return float(p), step
