"""BatchNorm and small batches: one decision on SyncBatchNorm, and the layers that cannot train at batch 1.

PyTorch trains BatchNorm at batch 1 by pooling the statistics over height and width. Only a layer that
then sees a single value per channel (a BatchNorm after a 1x1 pooled map, like DeepLabV3's ASPP pooling
branch) cannot compute a variance: it raises "Expected more than 1 value per channel when training".
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from seg_cli.errors import ConfigError

SINGLE_VALUE_MESSAGE = "Expected more than 1 value per channel when training"


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def use_sync_batchnorm(setting: str, device_type: str, world_size: int) -> bool:
    """`train.sync_bn`: auto converts to SyncBatchNorm when more than one CUDA process trains (PyTorch's
    SyncBatchNorm runs on GPUs only); true / false force it."""
    setting = str(setting).lower()
    if setting == "auto":
        return world_size > 1 and device_type == "cuda"
    return setting == "true"


@torch.no_grad()
def single_value_batchnorms(model: nn.Module, input_size: tuple[int, int], in_channels: int = 3) -> list[str]:
    """Names of the BatchNorm layers that see one value per channel when one image of `input_size`
    (height, width) passes through `model`: those cannot train at batch 1.

    The probe runs in eval mode (no running statistic changes; the shapes are those of training) on
    meta tensors, which carry shapes but no data: 0.2 s instead of 7 s for DeepLabV3-ResNet50 at 480x480
    on 2 CPU cores. A model with an operation meta tensors lack is probed with real ones.
    """
    found: list[str] = []

    def check(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            if args[0].numel() == args[0].shape[1]:
                found.append(name)
        return hook

    hooks = [m.register_forward_pre_hook(check(name)) for name, m in model.named_modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = model.training
    try:
        model.eval()
        try:
            shapes_only = {name: torch.empty_like(t, device="meta")
                           for name, t in [*model.named_parameters(), *model.named_buffers()]}
            functional_call(model, shapes_only, (torch.empty(1, in_channels, *input_size, device="meta"),))
        except Exception:  # noqa: BLE001 - any op that meta tensors lack: probe with real ones
            found.clear()
            parameter = next(model.parameters(), None)
            device = parameter.device if parameter is not None else torch.device("cpu")
            model(torch.zeros(1, in_channels, *input_size, device=device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return found


def single_value_error(layers: list[str], batch_size: int) -> ConfigError:
    """seg's one line for a model that cannot train at this batch size."""
    shown = ", ".join(layers[:3]) + (" ..." if len(layers) > 3 else "")
    return ConfigError(f"train.batch_size={batch_size}: BatchNorm layer {shown} sees one value per channel (a 1x1 "
                       "pooled map), so its batch statistics cannot be computed; use train.batch_size>=2, or "
                       "SyncBatchNorm across several CUDA processes (train.sync_bn=true)")


def explain_forward_error(exc: ValueError, model: nn.Module, images: torch.Tensor) -> Exception:
    """PyTorch's single-value BatchNorm error as seg's one line naming the layer; other errors unchanged."""
    if SINGLE_VALUE_MESSAGE not in str(exc):
        return exc
    from seg_cli.models.contract import unwrap_model

    plain = unwrap_model(model)
    layers = single_value_batchnorms(plain, tuple(images.shape[-2:]), images.shape[1]) or ["(unknown)"]
    plain.train()
    return single_value_error(layers, images.shape[0])
