"""`seg train`: compose the config, build everything, hand plain objects to the engine."""

from __future__ import annotations

import logging
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    find_checkpoint,
    in_sweep,
    log_to_files,
    reports_errors,
    resume_config,
    run_dir,
    run_overrides,
    search_roots,
    to_plain,
)
from seg_cli.commands.validation import validate_train_config
from seg_cli.errors import CheckpointError
from seg_cli.paths import config_dir
from seg_cli.values import resume_setting

log = logging.getLogger("seg.train")
schema.register()


def show_progress(setting: str) -> bool:
    setting = str(setting).lower()
    return sys.stderr.isatty() if setting == "auto" else setting == "true"


@hydra.main(version_base=None, config_path=config_dir(), config_name="train")
@reports_errors
def main(cfg: DictConfig) -> float:
    """One training run; returns its best value of train.best_metric, which a sweeper such as
    `hparams_search=` (Optuna) optimises (NaN when no evaluation produced one)."""
    cfg.train.resume = resume_setting(cfg.train.resume)
    absolutize_paths(cfg)
    resume_path = find_resume(cfg)
    resume_state = None
    if resume_path is not None:
        from seg_cli.checkpoint import load_checkpoint

        resume_state = load_checkpoint(resume_path)
        cfg = resume_config(resume_state, cfg)  # the run's own config, this command's overrides on top
    validate_train_config(cfg, given=run_overrides())
    if resume_state is not None and resume_path.parent.parent == run_dir() and finished_job(resume_state, cfg):
        # A requeued cluster job whose run had already finished: nothing to do, and nothing went wrong.
        best = resume_state["progress"].get("best_value")
        log.info("train.resume=auto: this job's run in %s has finished; nothing left to train", run_dir())
        return float("nan") if best is None else float(best)
    if resume_state is not None:
        refuse_finished_run(resume_state, resume_path, cfg)
    summary = train(to_plain(cfg), resume_state, resume_path)
    return float("nan") if summary["best_value"] is None else float(summary["best_value"])


def find_resume(cfg: DictConfig) -> Path | None:
    """The last.pt that `train.resume` names (None: start fresh); `auto` says which one it picked."""
    if not cfg.train.resume:
        return None
    path = find_checkpoint("train.resume", cfg.train.resume, cfg.output_root, "last.pt", resuming=True)
    if cfg.train.resume != "auto":
        return path
    if path is None:
        where = run_dir() if in_sweep() else " and ".join(str(r) for r in search_roots(cfg.output_root))
        log.info("train.resume=auto: no last.pt under %s yet, starting fresh", where)
    else:
        own = path.parent.parent == run_dir()
        log.info("train.resume=auto picked %s (%s)", path, "this job's own run dir" if own else
                 "the newest last.pt under " + " and ".join(str(r) for r in search_roots(cfg.output_root)))
    return path


def finished_job(state: dict[str, Any], cfg: DictConfig) -> bool:
    """Whether the run in `state` has nothing left to train under this command's budget."""
    from seg_cli.engine.state import Progress

    return Progress(**state.get("progress", {})).finished(cfg.train.epochs, cfg.train.max_steps) is not None


def refuse_finished_run(state: dict[str, Any], path: Path, cfg: DictConfig) -> None:
    """Resuming a run that has nothing left to train would only copy its results: refused, unless this
    command line raises its budget (train.epochs / train.max_steps), which is how to train it further."""
    from seg_cli.engine.state import Progress

    progress = Progress(**state.get("progress", {}))
    reason = progress.finished(cfg.train.epochs, cfg.train.max_steps)
    if reason is None:
        return
    if progress.stop_reason:
        further = "drop train.resume to start afresh"
    else:
        key = "train.max_steps" if cfg.train.max_steps else "train.epochs"
        reached = progress.global_step if cfg.train.max_steps else progress.epoch
        further = f"raise {key} above {reached} to train it further (e.g. {key}={2 * reached}), or drop train.resume"
    if cfg.train.resume == "auto":
        raise CheckpointError(f"train.resume=auto picked {path}, a run that has finished ({reason}); pass "
                              f"train.resume=PATH of the run to continue, {further}")
    raise CheckpointError(f"train.resume={path}: that run has finished ({reason}); {further}")


def resume_argument(checkpoint: Path) -> str:
    """`train.resume=PATH` as one shell word that Hydra reads back as PATH."""
    path = str(Path(checkpoint).resolve())
    if not re.fullmatch(r"[A-Za-z0-9_./:@+-]+", path):  # Hydra's grammar (ASCII only) would split it: quote it
        # In Hydra's quoted strings only backslashes before a quote (or the end) are escapes, and ${ interpolates.
        path = re.sub(r"(\\+)(?='|$)", r"\1\1", path).replace("'", "\\'").replace("${", "\\${")
        path = f"'{path}'"
    word = f"train.resume={path}"
    if word == shlex.quote(word) or re.search(r'["$`\\!]', word):
        return shlex.quote(word)
    return f'"{word}"'  # reads better than shlex's '...'"'"'...' where the double quotes need no escapes


def train(config: dict[str, Any], resume_state: dict | None, resume_path) -> dict[str, Any]:
    from seg_cli.engine import distributed  # late: `seg train --help` must not pay for importing torch
    from seg_cli.engine.fit import TrainingInterrupted, fit
    from seg_cli.engine.training import build_training

    out = run_dir()
    log.info("run dir %s", out)
    training = build_training(config, resume_state, hparams=run_overrides(),
                              show_progress=show_progress(config["train"]["progress"]))
    if resume_state is not None:
        progress = training.progress
        log.info("resumed from %s: %d epoch(s) done (+%d samples of the next), step %d", resume_path,
                 progress.epoch, progress.epoch_samples, progress.global_step)
    together = False  # whether every rank got as far: a failure may be this rank's alone
    try:
        # the resumed run's folder: this run continues its history.json
        summary = fit(training, out, config, history_from=resume_path.parent.parent if resume_path else None)
        together = True
    except TrainingInterrupted as stop:
        together = True  # the ranks share the stop flag: all stop at the same step
        if distributed.is_main_process():  # one message for the run, not one per process
            message = f"{stop}; continue with: seg train {resume_argument(stop.checkpoint)}"
            log_to_files(logging.WARNING, message)
            print(f"seg: {message}", file=sys.stderr)
        sys.exit(128 + stop.signum)
    finally:
        distributed.cleanup(together)
    log.info("done: %s %s (best %s at epoch %s); outputs in %s", summary["best_metric"],
             format_value(summary.get(summary["best_metric"])), format_value(summary["best_value"]),
             summary["best_epoch"], out)
    return summary


def format_value(value: Any) -> str:
    """A metric as the logs show them: 4 decimals (none: no evaluation produced it)."""
    return f"{value:.4f}" if isinstance(value, float) else "none" if value is None else str(value)
