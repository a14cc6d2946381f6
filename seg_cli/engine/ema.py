"""Exponential moving average of the weights (`train.ema.decay`).

After every optimizer step each floating-point tensor of the state dict (parameters and BatchNorm
statistics) moves towards the trained model's: ema = decay * ema + (1 - decay) * weights. Integer buffers
(BatchNorm's step counter) are copied. The average is what a run evaluates and saves as its model; the raw
weights are kept beside it for resuming.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma:
    """A frozen copy of a model whose weights track the trained model's moving average."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay={decay} must lie in (0, 1)")
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)
        self._pairs: tuple[list[torch.Tensor], ...] | None = None

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One averaging step towards `model` (the plain model, not a DDP or compile wrapper)."""
        if self._pairs is None:  # state_dict tensors share the weights' storage: pair them once, not every step
            self._pairs = _paired_tensors(self.module.state_dict(), model.state_dict())
        averages, trained, counters, counts = self._pairs
        if averages:
            torch._foreach_lerp_(averages, trained, 1 - self.decay)
        for counter, count in zip(counters, counts):
            counter.copy_(count)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)


def _paired_tensors(average: dict[str, torch.Tensor], trained: dict[str, torch.Tensor]
                    ) -> tuple[list[torch.Tensor], ...]:
    """(float averages, their trained tensors, integer buffers, theirs), matched by name."""
    floats = [name for name, t in average.items() if t.is_floating_point()]
    others = [name for name, t in average.items() if not t.is_floating_point()]
    return ([average[n] for n in floats], [trained[n] for n in floats], [average[n] for n in others],
            [trained[n] for n in others])
