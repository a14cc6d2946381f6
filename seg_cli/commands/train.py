"""`seg train`: compose the config, build everything, hand plain objects to the engine."""

from __future__ import annotations

import logging
import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    find_checkpoint,
    reports_errors,
    resume_config,
    run_dir,
    run_overrides,
    to_plain,
)
from seg_cli.commands.validation import validate_train_config
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
    resume_path = None
    if cfg.train.resume:
        resume_path = find_checkpoint("train.resume", cfg.train.resume, cfg.output_root, "last.pt",
                                      resuming=True)
        if resume_path is None:
            log.info("train.resume=auto: no last.pt under %s yet, starting fresh", cfg.output_root)
    resume_state = None
    if resume_path is not None:
        from seg_cli.checkpoint import load_checkpoint

        resume_state = load_checkpoint(resume_path)
        cfg = resume_config(resume_state, cfg)  # the run's own config, this command's overrides on top
    validate_train_config(cfg, given=run_overrides())
    summary = train(to_plain(cfg), resume_state, resume_path)
    return float("nan") if summary["best_value"] is None else float(summary["best_value"])


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
        log.info("resumed from %s at epoch %d (+%d samples), step %d", resume_path, progress.epoch,
                 progress.epoch_samples, progress.global_step)
    try:
        summary = fit(training, out, config)
    except TrainingInterrupted as stop:
        print(f"seg: {stop}; continue with: seg train train.resume=auto", file=sys.stderr)
        sys.exit(128 + stop.signum)
    finally:
        distributed.cleanup()
    best = summary["best_value"] if summary["best_value"] is not None else float("nan")
    log.info("done: %s %s (best %.4f at epoch %s); outputs in %s", summary["best_metric"],
             summary.get(summary["best_metric"]), best, summary["best_epoch"], out)
    return summary
