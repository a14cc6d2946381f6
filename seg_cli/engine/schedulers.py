"""Per-iteration learning-rate schedules with linear warm-up (LambdaLR, so state_dict is plain data)."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def _with_warmup(decay: Callable[[float], float], total_steps: int, warmup_steps: int,
                 warmup_factor: float) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return warmup_factor + (1.0 - warmup_factor) * step / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return decay(min(progress, 1.0))

    return factor


def poly_lr(optimizer: Optimizer, total_steps: int, steps_per_epoch: int, power: float = 0.9,
            warmup_epochs: float = 0.0, warmup_factor: float = 0.01) -> LambdaLR:
    """lr x (1 - progress) ** power after warm-up, stepped every iteration (torchvision reference)."""
    warmup = int(round(warmup_epochs * steps_per_epoch))
    return LambdaLR(optimizer, _with_warmup(lambda p: (1.0 - p) ** power, total_steps, warmup, warmup_factor))


def cosine_lr(optimizer: Optimizer, total_steps: int, steps_per_epoch: int, min_lr_ratio: float = 0.0,
              warmup_epochs: float = 0.0, warmup_factor: float = 0.01) -> LambdaLR:
    """Cosine decay from lr to min_lr_ratio x lr after warm-up, stepped every iteration."""
    warmup = int(round(warmup_epochs * steps_per_epoch))

    def cosine(p: float) -> float:
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))

    return LambdaLR(optimizer, _with_warmup(cosine, total_steps, warmup, warmup_factor))
