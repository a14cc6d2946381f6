"""`seg eval`: rebuild model and dataset from a checkpoint, compute metrics, write metrics.json."""

from __future__ import annotations

import logging
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    run_dir,
    trained_model,
)
from seg_cli.commands.validation import inference_settings, require_workers, validate_eval_section
from seg_cli.paths import config_dir

log = logging.getLogger("seg.eval")
schema.register()


@hydra.main(version_base=None, config_path=config_dir(), config_name="eval")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    absolutize_paths(cfg)
    validate_eval_section(cfg.eval)
    require_workers("workers", cfg.workers)
    from seg_cli.data.build import build_dataset, build_eval_loader, resolve_workers
    from seg_cli.engine import distributed
    from seg_cli.engine.loop import evaluate
    from seg_cli.metrics.scorers import build_scorer
    from seg_cli.utils import write_json

    distributed.init_distributed()
    model, config, path, device = trained_model(cfg, cfg.device)
    if cfg.channels_last:
        import torch

        model = model.to(memory_format=torch.channels_last)
    d = config["dataset"]
    dataset = build_dataset(d, cfg.split, train=False, resize_mask=cfg.eval.resolution == "resized")
    loader = build_eval_loader(dataset, cfg.eval.batch_size, resolve_workers(cfg.workers, device), distributed.rank(),
                               distributed.world_size(), pin_memory=device.type == "cuda",
                               pad_multiple=cfg.eval.pad_multiple)
    log.info("evaluating %s on %d %s images (%s resolution, %s inference)", path, len(dataset), cfg.split,
             cfg.eval.resolution, cfg.infer.mode)
    sod_normalize = cfg.eval.sod_normalize or config.get("eval", {}).get("sod_normalize", "none")
    scorer = build_scorer(d.get("task", "multiclass"), d["num_classes"], d["ignore_index"], dataset.class_names, device,
                          sod_normalize)
    evaluate(model, loader, device, d["num_classes"], d["ignore_index"], scorer=scorer,
             infer=inference_settings(cfg))
    metrics = {**scorer.compute(), "checkpoint": str(path), "split": cfg.split}
    if distributed.is_main_process():
        log.info("\n%s", scorer.format(metrics))
        write_json(metrics, run_dir() / "metrics.json")
        log.info("metrics written to %s", run_dir() / "metrics.json")
    distributed.cleanup()
    return metrics
