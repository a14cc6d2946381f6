"""One training epoch and one evaluation pass: every step visible, nothing hidden in callbacks."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg_cli.errors import SegError
from seg_cli.metrics.confusion import ConfusionMatrix
from seg_cli.models.build import model_outputs

log = logging.getLogger(__name__)


class NonFiniteLossError(SegError):
    """The loss became NaN or infinite."""


def train_one_epoch(
    model: nn.Module,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    epoch: int,
    *,
    scaler: torch.amp.GradScaler | None = None,
    amp_dtype: torch.dtype | None = None,
    clip_grad_norm: float | None = None,
    progress: bool = False,
    log_every: int = 20,
    on_log: Callable[[int, float, float], None] | None = None,
    start_step: int = 0,
) -> tuple[float, int]:
    """Train for one pass over `loader`; returns (mean loss, global step after the epoch)."""
    model.train()
    step, loss_sum, seen, tick = start_step, 0.0, 0, time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not progress, dynamic_ncols=True, leave=False)
    for images, masks in bar:
        images = images.to(device, non_blocking=True)
        masks = masks.to(device, non_blocking=True).long()
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = criterion(model(images), masks)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise NonFiniteLossError(
                f"loss became {loss_value} at epoch {epoch}, step {step}; lower optimizer.lr or set train.clip_grad_norm"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # so clipping sees true gradient norms
        else:
            loss.backward()
        if clip_grad_norm:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        step += 1
        loss_sum, seen = loss_sum + loss_value, seen + 1
        lr = optimizer.param_groups[0]["lr"]
        if progress:
            rate = seen * images.shape[0] / (time.perf_counter() - tick)
            bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", img_s=f"{rate:.1f}")
        if step % log_every == 0 and on_log is not None:
            on_log(step, loss_value, lr)
    return loss_sum / max(seen, 1), step


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    num_classes: int,
    ignore_index: int = 255,
    *,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
) -> ConfusionMatrix:
    """Confusion matrix over `loader` (summed over ranks); logits are resized to each label's size."""
    model.eval()
    confmat = ConfusionMatrix(num_classes, device)
    for images, masks, image_sizes, mask_sizes in tqdm(loader, desc="eval", disable=not progress, leave=False):
        images = images.to(device, non_blocking=True)
        masks = masks.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model_outputs(model(images))["out"]
        for i, ((ih, iw), (mh, mw)) in enumerate(zip(image_sizes, mask_sizes)):
            sample = logits[i : i + 1, :, :ih, :iw]
            if (ih, iw) != (mh, mw):
                sample = F.interpolate(sample.float(), size=(mh, mw), mode="bilinear", align_corners=False)
            confmat.update(masks[i, :mh, :mw], sample.argmax(1)[0], ignore_index)
    confmat.reduce_from_all_processes()
    return confmat
