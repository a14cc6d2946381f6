"""The run loop around train_one_epoch / evaluate: step budgets, evaluations, early stopping, checkpoints,
TensorBoard, metrics.json."""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.contrib.logging import logging_redirect_tqdm

from seg_cli.engine import distributed
from seg_cli.engine.ema import ModelEma
from seg_cli.engine.freeze import Freezer
from seg_cli.engine.history import RunHistory, RunRecord
from seg_cli.engine.loop import evaluate, train_one_epoch
from seg_cli.engine.panels import log_worst_panels
from seg_cli.engine.placement import wrap_model
from seg_cli.engine.signals import StopSignals
from seg_cli.engine.state import Checkpoints, Progress
from seg_cli.engine.step_log import StepLog
from seg_cli.engine.tensorboard import confusion_image, log_hparams, sample_grid
from seg_cli.metrics.confusion import DEFAULT_TABLE
from seg_cli.metrics.names import LOWER_IS_BETTER
from seg_cli.metrics.per_image import PerImageResults
from seg_cli.models.contract import unwrap_model
from seg_cli.tasks import DEFAULT_TASK, get_task
from seg_cli.utils import write_json

log = logging.getLogger(__name__)


@dataclass
class FitOptions:
    """What the run loop needs to know, as plain values."""

    epochs: int  # epochs to run (with max_steps: enough epochs to hold them, the last one cut short)
    num_classes: int
    class_names: list[str]
    ignore_index: int = 255
    task: str = DEFAULT_TASK  # a name of seg_cli.tasks
    max_steps: int | None = None  # optimizer steps of the whole run; None = `epochs` whole epochs
    eval_every: int = 1
    eval_every_steps: int = 0  # > 0: evaluate every N optimizer steps instead of every eval_every epochs
    patience: int = 0  # early stopping: evaluations without an improvement of min_delta (0 = off)
    min_delta: float = 0.0
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
    eval_metrics: tuple[str, ...] = DEFAULT_TABLE  # columns of the validation table (eval.metrics)
    worst: int = 0  # the N worst validation images drawn into TensorBoard per evaluation (eval.worst)
    plots: bool = True  # curves.png at every evaluation, the last evaluation's plots at the end (eval.plots)
    hparams: dict[str, Any] = field(default_factory=dict)  # this run's overrides, for TensorBoard HParams


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
    freezer: Freezer | None = None  # train.freeze
    ema: ModelEma | None = None  # train.ema: the averaged weights that are evaluated and saved
    last_rows: list[dict[str, Any]] | None = None  # per-image rows of the latest evaluation, where collected

    def eval_model(self) -> nn.Module:
        """What evaluations score: the weight average with EMA, else the plain trained model (no DDP, and
        no compiled graph that would recompile for every image size)."""
        return self.ema.module if self.ema is not None else unwrap_model(self.model)


class TrainingInterrupted(Exception):
    """SIGINT / SIGTERM arrived; last.pt holds the state at the last finished step."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by signal {signum}; saved {checkpoint}")
        self.signum, self.checkpoint = signum, checkpoint


def is_better(metric: str, value: float, best: float | None, min_delta: float = 0.0) -> bool:
    """Whether `value` beats `best` (by more than `min_delta`) in the metric's direction."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if metric in LOWER_IS_BETTER else value > best + min_delta


def fit(training: Training, run_dir: Path, config: dict[str, Any], history_from: Path | None = None
        ) -> dict[str, Any]:
    """Train for options.epochs or options.max_steps, evaluating and checkpointing; returns the final metrics.
    `history_from`: the folder of the run this one resumes, whose history.json it continues."""
    options, progress = training.options, training.progress
    main = distributed.is_main_process()
    writer = _summary_writer(run_dir) if main else None
    record = (RunRecord(run_dir, RunHistory.resume(options.best_metric, history_from, progress.global_step),
                        get_task(options.task), options.plots) if main else None)
    checkpoints = Checkpoints(training, run_dir / "checkpoints", config, main)
    if progress.stop_reason:
        log.info("this run has already ended: %s", progress.stop_reason)
    with StopSignals() as signals:
        for epoch in range(progress.epoch, options.epochs):
            if progress.finished(options.epochs, options.max_steps):
                break
            signum = signals.requested()
            if signum:  # it came after the previous epoch's last step: last.pt holds that epoch's end
                raise TrainingInterrupted(signum, checkpoints.path("last.pt"))
            _apply_freeze(training, epoch)
            result = _train_epoch(training, epoch, writer, checkpoints, signals, record)
            progress.nonfinite_skipped += result.nonfinite_skipped
            signum = signals.requested()
            if signum and result.stopped and not progress.finished(options.epochs, options.max_steps):
                raise TrainingInterrupted(signum, checkpoints.path("last.pt"))  # saved by after_step
            progress.epoch, progress.epoch_samples = epoch + 1, 0
            log.info("epoch %d/%d done  step %d%s  epoch mean loss %.4f  lr %.3e", epoch + 1, options.epochs,
                     progress.global_step, f"/{options.max_steps}" if options.max_steps else "",
                     result.mean_loss, training.optimizer.param_groups[0]["lr"])
            last = progress.epoch == options.epochs or budget_spent(options, progress)
            due = progress.epoch % options.eval_every == 0 if not options.eval_every_steps else False
            if (due or last or progress.stop_reason) and progress.last_eval_step != progress.global_step:
                _evaluate_and_track(training, writer, checkpoints, record)
            checkpoints.save("last.pt")
    if progress.stop_reason:
        log.info("early stopping: %s; checkpoints/best.pt is from epoch %s (step %s)", progress.stop_reason,
                 progress.best_epoch, progress.best_step)
    summary = {**progress.last_metrics, "epoch": progress.epoch, "step": progress.global_step,
               "best_metric": options.best_metric, "best_value": progress.best_value,
               "best_epoch": progress.best_epoch, "best_step": progress.best_step,
               "stopped_early": progress.stop_reason, "nonfinite_skipped": progress.nonfinite_skipped,
               "skipped_samples": getattr(training.train_loader.dataset, "skipped", 0)}
    if main:
        write_json(summary, run_dir / "metrics.json")
        if writer is not None:
            log_hparams(writer, options.hparams, summary)
            writer.close()
        record.finish(progress.last_metrics, training.last_rows, options.class_names, progress.best_step,
                      progress.best_value)
    return summary


def budget_spent(options: FitOptions, progress: Progress) -> bool:
    """Whether a `train.max_steps` run has taken all its optimizer steps."""
    return options.max_steps is not None and progress.global_step >= options.max_steps


def _apply_freeze(training: Training, epoch: int) -> None:
    """Frozen parameters stop (or, once `train.freeze_epochs` are over, start again) taking gradients."""
    freezer = training.freezer
    if freezer is None or not freezer.prefixes:
        return
    was_frozen = bool(freezer.params) and not freezer.params[0].requires_grad
    freezer.apply(epoch)
    if was_frozen and not freezer.active(epoch):
        log.info("epoch %d: %s unfrozen", epoch + 1, ", ".join(freezer.prefixes))
        if distributed.world_size() > 1:  # DDP's reducer only knows the parameters that took gradients
            compiled = hasattr(training.model, "_orig_mod")
            training.model = wrap_model(unwrap_model(training.model), training.device, compiled)


def _evaluate_and_track(training: Training, writer, checkpoints: Checkpoints, record: RunRecord | None) -> None:
    """Evaluate, keep best.pt, count evaluations without progress for early stopping, record the point."""
    options, progress = training.options, training.progress
    metrics = _evaluate_epoch(training, writer)
    progress.last_metrics, progress.last_eval_step = metrics, progress.global_step
    value = metrics.get(options.best_metric)
    if is_better(options.best_metric, value, progress.best_value):
        progress.best_value, progress.best_epoch, progress.best_step = value, current_epoch(progress), progress.global_step
        checkpoints.save("best.pt")
    if is_better(options.best_metric, value, progress.reference_value, options.min_delta):
        progress.reference_value, progress.stale_evals = value, 0
    else:
        progress.stale_evals += 1
    if options.patience and progress.stale_evals >= options.patience:
        best = "none" if progress.best_value is None else f"{progress.best_value:.4f}"
        progress.stop_reason = (f"{options.best_metric} did not improve by more than {options.min_delta:g} in "
                                f"{progress.stale_evals} evaluations (best {best})")
    if record is not None:
        record.evaluated(progress.global_step, current_epoch(progress), metrics, progress.best_step,
                         progress.best_value)


def current_epoch(progress: Progress) -> int:
    """The 1-based epoch an evaluation belongs to: the one just finished, or the one in progress (by steps)."""
    return progress.epoch + 1 if progress.epoch_samples else progress.epoch


def _train_epoch(training: Training, epoch: int, writer, checkpoints: Checkpoints, signals: StopSignals,
                 record: RunRecord | None = None):
    """One train_one_epoch with the run's step hooks: EMA, TensorBoard and history points, evaluations by
    steps, mid-epoch saves, the step budget, signals."""
    options, progress = training.options, training.progress
    samples_per_step = training.train_loader.batch_size * options.accumulate_steps * distributed.world_size()
    step_log = StepLog(epoch, options, samples_per_step)

    def after_step(step: int, loss: float, lr: float) -> bool:
        if training.ema is not None:
            training.ema.update(unwrap_model(training.model))
        logged = step_log.add(step, loss, lr)
        if record is not None and logged is not None:
            record.history.add_train(step, epoch + 1, logged, lr)
        if writer is not None and step % options.log_every == 0:
            writer.add_scalar("train/loss", loss, step)
            writer.add_scalar("train/lr", lr, step)
        progress.global_step = step
        progress.epoch_samples += samples_per_step
        evaluated = bool(options.eval_every_steps) and step % options.eval_every_steps == 0
        if evaluated:
            _evaluate_and_track(training, writer, checkpoints, record)
            set_train_mode(training, epoch)
        if evaluated or (options.checkpoint_every and step % options.checkpoint_every == 0):
            checkpoints.save("last.pt")
        if signals.requested():
            checkpoints.save("last.pt")
            return True
        return bool(progress.stop_reason) or budget_spent(options, progress)

    training.train_loader.sampler.set_epoch(epoch, progress.epoch_samples)
    bar = options.progress and distributed.is_main_process()
    with logging_redirect_tqdm() if bar else contextlib.nullcontext():  # log lines print above the bar
        result = train_one_epoch(
            training.model, training.criterion, training.optimizer, training.train_loader, training.scheduler,
            training.device, epoch, scaler=training.scaler, amp_dtype=options.amp_dtype,
            clip_grad_norm=options.clip_grad_norm, accumulate_steps=options.accumulate_steps,
            skip_nonfinite=options.skip_nonfinite, progress=bar, after_step=after_step,
            start_step=progress.global_step, train_mode=lambda model: set_train_mode(training, epoch),
            epochs=options.epochs, target=get_task(options.task).target,
        )
    rest = step_log.rest()  # the epoch's steps after its last log line: a point of the history too
    if record is not None and rest is not None:
        step, loss, lr = rest
        record.history.add_train(step, epoch + 1, loss, lr)
    return result


def set_train_mode(training: Training, epoch: int) -> None:
    """Training mode, except for the frozen modules (`train.freeze`), which stay in eval mode."""
    if training.freezer is not None:
        training.freezer.train_mode(training.model, epoch)
    else:
        training.model.train()


def _evaluate_epoch(training: Training, writer) -> dict[str, Any]:
    options, device, val_loader = training.options, training.device, training.val_loader
    epoch, step = current_epoch(training.progress), training.progress.global_step
    model = training.eval_model()
    x = step if options.eval_every_steps else epoch  # TensorBoard axis: evaluations by steps or by epochs
    scorer = get_task(options.task).build_scorer(options.num_classes, options.ignore_index, options.class_names,
                                                 device, options.sod_normalize, options.eval_metrics)
    # Built on every rank: evaluate() gathers the per-image results across ranks (a collective).
    per_image = (PerImageResults(options.task, options.num_classes, options.ignore_index, device,
                                 options.sod_normalize)
                 if options.worst or (options.plots and get_task(options.task).plots_read_rows) else None)
    evaluate(model, val_loader, device, options.num_classes, options.ignore_index, scorer=scorer,
             amp_dtype=options.amp_dtype, progress=options.progress and distributed.is_main_process(),
             per_image=per_image)
    metrics = scorer.compute()
    main = distributed.is_main_process()
    rows = per_image.rows(val_loader.dataset.sample_files, options.class_names) if per_image and main else None
    training.last_rows = rows
    log.info("epoch %d step %d validation\n%s", epoch, step, scorer.format(metrics))
    if writer is not None:
        for key, value in metrics.items():
            if isinstance(value, float) and math.isfinite(value):
                writer.add_scalar(f"val/{key}", value, x)
        for name, iou in metrics.get("per_class_iou", {}).items():
            if iou is not None:
                writer.add_scalar(f"val_iou/{name}", iou, x)
        if hasattr(scorer, "confmat"):
            writer.add_image("val/confusion_matrix", confusion_image(scorer.confmat.mat), x)
        if options.tb_images:
            grid = sample_grid(model, val_loader.dataset, device, options.tb_images, options.task)
            writer.add_image("val/samples", grid, x)
        if options.worst and rows is not None:
            log_worst_panels(writer, "val/worst", model, val_loader.dataset, device, rows, options.worst, x,
                             options.task, sod_normalize=options.sod_normalize)
    return metrics


def _summary_writer(run_dir: Path):
    from torch.utils.tensorboard import SummaryWriter  # imported late: tensorboard is slow to import

    return SummaryWriter(log_dir=str(run_dir / "tb"))
