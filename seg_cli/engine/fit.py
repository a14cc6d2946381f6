"""The epoch loop around train_one_epoch / evaluate: checkpoints, TensorBoard, metrics.json."""

from __future__ import annotations

import logging
import math
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seg_cli.checkpoint import rng_state, save_checkpoint, set_rng_state
from seg_cli.engine import distributed
from seg_cli.engine.loop import evaluate, train_one_epoch
from seg_cli.engine.tensorboard import confusion_image, log_hparams, sample_grid
from seg_cli.errors import SegError
from seg_cli.metrics.names import LOWER_IS_BETTER
from seg_cli.metrics.scorers import build_scorer
from seg_cli.models.build import unwrap_model
from seg_cli.utils import write_json

log = logging.getLogger(__name__)

@dataclass
class FitOptions:
    """What the epoch loop needs to know, as plain values."""

    epochs: int
    num_classes: int
    class_names: list[str]
    ignore_index: int = 255
    task: str = "multiclass"
    eval_every: int = 1
    best_metric: str = "miou"
    clip_grad_norm: float | None = None
    accumulate_steps: int = 1
    skip_nonfinite: bool = False
    checkpoint_every: int = 0  # optimizer steps between mid-epoch last.pt saves; 0 = end of epoch only
    log_every: int = 20
    progress: bool = False
    amp_dtype: torch.dtype | None = None
    tb_images: int = 4  # validation samples drawn into TensorBoard per evaluation (0 = none)
    sod_normalize: str = "none"  # binary tasks: how maps are scored (seg_cli.metrics.scorers.BinaryScorer)
    hparams: dict[str, Any] = field(default_factory=dict)  # this run's overrides, for TensorBoard HParams


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run continues from here."""

    epoch: int = 0  # the epoch in progress (== completed epochs when epoch_samples is 0)
    epoch_samples: int = 0  # samples of this epoch already trained on, over all processes
    global_step: int = 0  # optimizer steps
    best_value: float | None = None
    best_epoch: int | None = None
    nonfinite_skipped: int = 0
    last_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Training:
    """The parts of one training run, ready for `fit`."""

    model: nn.Module  # on its device; wrapped in DDP / torch.compile where the config asks
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    train_loader: DataLoader
    val_loader: Any  # a ReplayLoader: the first evaluation's batches are replayed by later ones
    device: torch.device
    options: FitOptions
    progress: Progress  # where the run starts: epoch 0, or the resumed checkpoint's position


class TrainingInterrupted(Exception):
    """SIGINT / SIGTERM arrived; last.pt holds the state at the last finished step."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by signal {signum}; saved {checkpoint}")
        self.signum, self.checkpoint = signum, checkpoint


class NonFiniteWeightsError(SegError):
    """Weights became NaN or infinite: they are never written to a checkpoint."""


def is_better(metric: str, value: float, best: float | None) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best


def training_state(model: nn.Module, optimizer, scheduler, scaler, progress: Progress,
                   config: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to resume or to rebuild the model, as plain data."""
    return {
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "progress": vars(progress).copy(),
        "rng": rng_state(),
        "config": config,
    }


def restore_training_state(state: dict[str, Any], model: nn.Module, optimizer, scheduler, scaler) -> Progress:
    """Load what `training_state` saved; returns the run's progress."""
    from seg_cli.errors import CheckpointError
    from seg_cli.models.build import load_model_state

    load_model_state(unwrap_model(model), state["model"], "the resumed checkpoint")
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the resumed checkpoint's optimizer state does not fit this optimizer ({exc})") from None
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


class _StopSignals:
    """Turn SIGINT / SIGTERM into a flag the loop checks after each step (then saves and stops)."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def requested(self) -> int:
        """The signal number if any process of the run received one (all ranks stop together)."""
        flag = torch.tensor([self.signum])
        if distributed.world_size() > 1:
            import torch.distributed as dist

            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def fit(training: Training, run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Train for options.epochs, evaluating and checkpointing; returns the final metrics."""
    options, progress = training.options, training.progress
    main = distributed.is_main_process()
    writer = _summary_writer(run_dir) if main else None
    checkpoints = Checkpoints(training, run_dir / "checkpoints", config, main)
    with _StopSignals() as signals:
        for epoch in range(progress.epoch, options.epochs):
            result = _train_epoch(training, epoch, writer, checkpoints, signals)
            progress.nonfinite_skipped += result.nonfinite_skipped
            if result.stopped:
                raise TrainingInterrupted(signals.signum, checkpoints.path("last.pt"))
            progress.epoch, progress.epoch_samples = epoch + 1, 0
            log.info("epoch %d/%d  train loss %.4f  lr %.3e", epoch + 1, options.epochs, result.mean_loss,
                     training.optimizer.param_groups[0]["lr"])
            if progress.epoch % options.eval_every == 0 or progress.epoch == options.epochs:
                metrics = _evaluate_epoch(training.model, training.val_loader, training.device, options, writer,
                                          progress.epoch)
                progress.last_metrics = metrics
                value = metrics.get(options.best_metric)
                if is_better(options.best_metric, value, progress.best_value):
                    progress.best_value, progress.best_epoch = value, progress.epoch
                    checkpoints.save("best.pt")
            checkpoints.save("last.pt")
    summary = {**progress.last_metrics, "epoch": progress.epoch, "best_metric": options.best_metric,
               "best_value": progress.best_value, "best_epoch": progress.best_epoch,
               "nonfinite_skipped": progress.nonfinite_skipped,
               "skipped_samples": getattr(training.train_loader.dataset, "skipped", 0)}
    if main:
        write_json(summary, run_dir / "metrics.json")
        if writer is not None:
            log_hparams(writer, options.hparams, summary)
            writer.close()
    return summary


class Checkpoints:
    """Writes the run's state to checkpoints/<name> (rank 0 only; never with non-finite weights)."""

    def __init__(self, training: Training, folder: Path, config: dict[str, Any], enabled: bool) -> None:
        self.training, self.folder, self.config, self.enabled = training, folder, config, enabled

    def path(self, name: str) -> Path:
        return self.folder / name

    def save(self, name: str) -> None:
        if self.enabled:
            t = self.training
            _require_finite(t.model)
            save_checkpoint(training_state(t.model, t.optimizer, t.scheduler, t.scaler, t.progress, self.config),
                            self.path(name))


def _train_epoch(training: Training, epoch: int, writer, checkpoints: Checkpoints, signals: _StopSignals):
    """One train_one_epoch with the run's step hooks: TensorBoard points, mid-epoch saves, signals."""
    options, progress = training.options, training.progress
    samples_per_step = training.train_loader.batch_size * options.accumulate_steps * distributed.world_size()

    def after_step(step: int, loss: float, lr: float) -> bool:
        if writer is not None and step % options.log_every == 0:
            writer.add_scalar("train/loss", loss, step)
            writer.add_scalar("train/lr", lr, step)
        progress.global_step = step
        progress.epoch_samples += samples_per_step
        if options.checkpoint_every and step % options.checkpoint_every == 0:
            checkpoints.save("last.pt")
        if signals.requested():
            checkpoints.save("last.pt")
            return True
        return False

    training.train_loader.sampler.set_epoch(epoch, progress.epoch_samples)
    return train_one_epoch(
        training.model, training.criterion, training.optimizer, training.train_loader, training.scheduler,
        training.device, epoch, scaler=training.scaler, amp_dtype=options.amp_dtype,
        clip_grad_norm=options.clip_grad_norm, accumulate_steps=options.accumulate_steps,
        skip_nonfinite=options.skip_nonfinite, progress=options.progress and distributed.is_main_process(),
        after_step=after_step, start_step=progress.global_step,
    )


def _require_finite(model: nn.Module) -> None:
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise NonFiniteWeightsError("weights became NaN or infinite; no checkpoint was written "
                                    "(lower optimizer.lr or set train.clip_grad_norm)")


def _evaluate_epoch(model, val_loader, device, options: FitOptions, writer, epoch: int) -> dict[str, Any]:
    scorer = build_scorer(options.task, options.num_classes, options.ignore_index, options.class_names, device,
                          options.sod_normalize)
    # The plain model: evaluation needs no DDP, and compiled graphs would recompile for every image size.
    evaluate(unwrap_model(model), val_loader, device, options.num_classes, options.ignore_index, scorer=scorer,
             amp_dtype=options.amp_dtype, progress=options.progress and distributed.is_main_process())
    metrics = scorer.compute()
    log.info("epoch %d validation\n%s", epoch, scorer.format(metrics))
    if writer is not None:
        for key, value in metrics.items():
            if isinstance(value, float) and math.isfinite(value):
                writer.add_scalar(f"val/{key}", value, epoch)
        for name, iou in metrics.get("per_class_iou", {}).items():
            if iou is not None:
                writer.add_scalar(f"val_iou/{name}", iou, epoch)
        if hasattr(scorer, "confmat"):
            writer.add_image("val/confusion_matrix", confusion_image(scorer.confmat.mat), epoch)
        if options.tb_images:
            grid = sample_grid(unwrap_model(model), val_loader.dataset, device, options.tb_images,
                               options.task)
            writer.add_image("val/samples", grid, epoch)
    return metrics


def _summary_writer(run_dir: Path):
    from torch.utils.tensorboard import SummaryWriter  # imported late: tensorboard is slow to import

    return SummaryWriter(log_dir=str(run_dir / "tb"))
