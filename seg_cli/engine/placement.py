"""Where the model runs: SyncBatchNorm, device, memory format, DDP and torch.compile."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seg_cli.engine import distributed
from seg_cli.engine.batchnorm import use_sync_batchnorm
from seg_cli.models.contract import spec_of


def place_model(model: nn.Module, t: dict[str, Any], device: torch.device, world: int) -> nn.Module:
    """SyncBatchNorm, device and memory format, as `train.*` asks."""
    if use_sync_batchnorm(t["sync_bn"], device.type, world):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    if t["channels_last"]:  # weights in NHWC make every convolution, and so its output, NHWC
        model = model.to(memory_format=torch.channels_last)
    return model


def wrap_model(model: nn.Module, device: torch.device, compile_model: bool = False) -> nn.Module:
    """DDP over the run's processes (when there are several), then torch.compile when asked."""
    if distributed.world_size() > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                                    find_unused_parameters=spec_of(model).unused_parameters)
    if compile_model:
        model = torch.compile(model)
    return model
