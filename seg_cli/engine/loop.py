"""One training epoch and one evaluation pass: every step visible, nothing hidden in callbacks."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg_cli.data.targets import CLASS_TARGET, Target
from seg_cli.engine.batchnorm import explain_forward_error
from seg_cli.engine.inference import predict_logits
from seg_cli.errors import SegError
from seg_cli.metrics.per_image import PerImageResults
from seg_cli.metrics.scorers import MulticlassScorer
from seg_cli.models.contract import model_outputs

log = logging.getLogger(__name__)
Scorer = Any  # MulticlassScorer | BinaryScorer (seg_cli.metrics.scorers)


class NonFiniteLossError(SegError):
    """The loss became NaN or infinite."""


@dataclass
class EpochResult:
    mean_loss: float
    global_step: int
    nonfinite_skipped: int
    stopped: bool  # `after_step` asked to stop (signal): the epoch is unfinished


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
    accumulate_steps: int = 1,
    skip_nonfinite: bool = False,
    progress: bool = False,
    after_step: Callable[[int, float, float], bool] | None = None,
    start_step: int = 0,
    train_mode: Callable[[nn.Module], None] | None = None,
    epochs: int | None = None,
    target: Target = CLASS_TARGET,
) -> EpochResult:
    """Train over `loader`, one optimizer step per `accumulate_steps` batches. `after_step(global_step, loss,
    lr)` runs after every optimizer step (logging, checkpointing); returning True stops the epoch there.
    `train_mode(model)` replaces `model.train()` (frozen parts stay in eval mode). `epoch` counts from 0;
    the bar and the messages show it from 1, as the run's log does (`epochs`: the total, for the bar).
    `target`: the kind of mask the loader yields (seg_cli.data.targets), which says what the loss takes."""
    (train_mode or nn.Module.train)(model)
    step, loss_sum, seen, skipped, stopped, tick = start_step, 0.0, 0, 0, False, time.perf_counter()
    usable = len(loader) // accumulate_steps * accumulate_steps  # whole optimizer steps only
    shown = f"{epoch + 1}/{epochs}" if epochs else f"{epoch + 1}"
    bar = tqdm(total=usable, desc=f"epoch {shown}", disable=not progress, dynamic_ncols=True, leave=False)
    optimizer.zero_grad(set_to_none=True)
    for i, (images, masks) in enumerate(loader):
        if i >= usable:
            break
        images, masks = images.to(device, non_blocking=True), target.for_loss(masks.to(device, non_blocking=True))
        update = (i + 1) % accumulate_steps == 0
        # DDP: all-reduce gradients only on the batch that completes an accumulation window.
        sync = contextlib.nullcontext() if update or not hasattr(model, "no_sync") else model.no_sync()
        with sync:
            loss_value = forward_backward(model, criterion, images, masks, scaler, amp_dtype, accumulate_steps)
        if math.isfinite(loss_value):
            loss_sum, seen = loss_sum + loss_value, seen + 1
        else:
            skipped += skip_nonfinite_batch(loss_value, skip_nonfinite, epoch, step)
        bar.update(1)
        if not update:
            continue
        optimizer_step(model, optimizer, scaler, clip_grad_norm)
        scheduler.step()
        step += 1
        lr = optimizer.param_groups[0]["lr"]
        if progress:
            bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}",
                            img_s=f"{(i + 1) * images.shape[0] / (time.perf_counter() - tick):.1f}")
        stopped = after_step is not None and after_step(step, loss_value, lr)
        if stopped:
            break
    bar.close()
    return EpochResult(loss_sum / max(seen, 1), step, skipped, stopped=stopped)


def skip_nonfinite_batch(loss_value: float, skip: bool, epoch: int, step: int) -> int:
    """1 (one batch skipped, with a warning) for a non-finite loss under train.skip_nonfinite; else raise."""
    if not skip:
        raise NonFiniteLossError(f"loss became {loss_value} at epoch {epoch + 1}, step {step}; lower "
                                 "optimizer.lr, set train.clip_grad_norm, or train.skip_nonfinite=true")
    log.warning("non-finite loss (%s) at epoch %d, step %d: batch skipped", loss_value, epoch + 1, step)
    return 1


def forward_backward(model: nn.Module, criterion: nn.Module, images: torch.Tensor, masks: torch.Tensor,
                     scaler: torch.amp.GradScaler | None, amp_dtype: torch.dtype | None, accumulate_steps: int) -> float:
    """The loss of one batch; a finite one adds its gradients, divided by the accumulation window."""
    with torch.autocast(images.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        try:
            # a loss reading the image too (matting's composition term) says so
            extra = {"images": images} if getattr(criterion, "takes_images", False) else {}
            loss = criterion(model(images), masks, **extra)
        except ValueError as exc:
            raise explain_forward_error(exc, model, images) from None
    value = loss.item()
    if math.isfinite(value):
        (scaler.scale(loss) if scaler is not None else loss).div(accumulate_steps).backward()
    return value


def optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None,
                   clip_grad_norm: float | None) -> None:
    """Unscale (AMP), clip, step and clear the gradients of one accumulation window."""
    if scaler is not None:
        scaler.unscale_(optimizer)  # so clipping sees true gradient norms
    if clip_grad_norm:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    num_classes: int,
    ignore_index: int = 255,
    *,
    scorer: Scorer | None = None,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
    infer: dict[str, Any] | None = None,
    per_image: PerImageResults | None = None,
) -> Scorer:
    """Score `loader` (summed over ranks); logits are resized to each label's own size first.

    Without a `scorer`, a multi-class confusion matrix over `num_classes` is used. `infer` holds
    seg_cli.engine.inference.predict_logits settings (slide window, flip / multi-scale TTA); without it
    each batch takes one forward pass. `per_image` also gets every sample with its dataset index, and is
    gathered from all ranks at the end.
    """
    model.eval()
    if scorer is None:
        scorer = MulticlassScorer(num_classes, ignore_index, [str(i) for i in range(num_classes)], device)
    indices = iter(batch_indices(loader)) if per_image is not None else None
    for images, masks, image_sizes, mask_sizes in tqdm(loader, desc="eval", disable=not progress, leave=False):
        batch = next(indices) if indices is not None else None
        if batch is not None and len(batch) != len(image_sizes):
            raise ValueError(f"the loader's batch of {len(image_sizes)} does not match its sampler's {batch}")
        images = images.to(device, non_blocking=True)
        masks = masks.to(device, non_blocking=True)
        if infer is None:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model_outputs(model(images))["out"]
        for i, ((ih, iw), (mh, mw)) in enumerate(zip(image_sizes, mask_sizes, strict=True)):
            if infer is None:
                sample = logits[i : i + 1, :, :ih, :iw]
            else:
                sample = predict_logits(model, images[i : i + 1, :, :ih, :iw], num_classes=num_classes,
                                        amp_dtype=amp_dtype, **infer).to(device)
            if (ih, iw) != (mh, mw):
                sample = F.interpolate(sample.float(), size=(mh, mw), mode="bilinear", align_corners=False)
            scorer.update(sample, masks[i, ..., :mh, :mw])
            if per_image is not None:
                per_image.update(batch[i], sample, masks[i, ..., :mh, :mw])
    scorer.reduce_from_all_processes()
    if per_image is not None:
        per_image.gather()
    return scorer


def batch_indices(loader: Iterable) -> Iterable[list[int]]:
    """The dataset indices of each batch `loader` yields, in its order: a DataLoader yields its batch
    sampler's batches in order (workers or not), and a ReplayLoader replays its loader's first pass."""
    inner = getattr(loader, "loader", loader)
    sampler = getattr(inner, "batch_sampler", None)
    if sampler is None:
        raise ValueError("per-image results need a DataLoader (or a ReplayLoader of one) with a batch sampler")
    return sampler
