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

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One averaging step towards `model` (the plain model, not a DDP or compile wrapper)."""
        trained = model.state_dict()
        for name, average in self.module.state_dict().items():
            if average.is_floating_point():
                average.lerp_(trained[name].to(average.dtype), 1 - self.decay)
            else:
                average.copy_(trained[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
