"""The table of augmentation steps, resolved by name, and the checks step constructors share.

A step is a class registered with `@register("name")`; its constructor's keyword arguments are the keys its
YAML entry takes. A constructor reports a bad value by raising ConfigError with a message that starts with
the key (`degrees=[10, -10] must be ...`); the pipeline builder puts `augment.steps[i].` in front of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from seg_cli.errors import ConfigError

STEPS: dict[str, type[Step]] = {}


class Step:
    """One augmentation, called on an (image, target) pair of tv_tensors; returns the transformed pair.

    Geometric steps move both with seg_cli.data.targets.paired, so the target's type decides its resampling
    and padding; photometric steps touch the image only.

    Class attributes: `p`, the probability used when a YAML entry gives none; `from_dataset`, the keys that
    take the dataset config's value when left out or null (step key -> dataset key).
    """

    p: ClassVar[float] = 1.0
    from_dataset: ClassVar[dict[str, str]] = {}

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


def register(name: str) -> Callable[[type[Step]], type[Step]]:
    """Class decorator: make a Step available to YAML entries as `name: <name>`."""

    def add(cls: type[Step]) -> type[Step]:
        if name in STEPS:
            raise ValueError(f"augmentation step {name!r} is registered twice")
        STEPS[name] = cls
        return cls

    return add


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_range(key: str, value: Any, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """A [low, high] key (low <= high), each end inside the optional bounds."""
    pair = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else None
    inside = pair is not None and len(pair) == 2 and all(is_number(v) for v in pair) and pair[0] <= pair[1]
    if inside:
        inside = (low is None or pair[0] >= low) and (high is None or pair[1] <= high)
    if not inside:
        bounds = f" within [{low}, {high}]" if low is not None and high is not None else (
            f" with low >= {low}" if low is not None else "")
        shown = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value
        raise ConfigError(f"{key}={shown} is not allowed; give [low, high] with low <= high{bounds}")
    return float(pair[0]), float(pair[1])


def positive_int(key: str, value: Any, odd: bool = False) -> int:
    """A whole number >= 1 (odd, for kernel sizes)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (odd and value % 2 == 0):
        what = "an odd whole number >= 1" if odd else "a whole number >= 1"
        raise ConfigError(f"{key}={value!r} is not allowed; give {what}")
    return value


def rgb_only(name: str, in_channels: int) -> None:
    """Colour steps need three channels (saturation, hue and grey weights are defined for RGB)."""
    if in_channels != 3:
        raise ConfigError(f"name={name} needs RGB images but dataset.in_channels={in_channels}; "
                          "leave this step out for grey or multi-band data")
