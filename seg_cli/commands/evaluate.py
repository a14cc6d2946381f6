"""`seg eval`: rebuild model and dataset from a checkpoint, compute metrics, write metrics.json."""

from __future__ import annotations

import logging
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    inference_settings,
    merged_run_config,
    reports_errors,
    resolve_checkpoint,
    run_dir,
)
from seg_cli.commands.validation import require_workers, validate_eval_section
from seg_cli.paths import config_dir

log = logging.getLogger("seg.eval")
schema.register()


def load_trained_model(ckpt: str | None, output_root: str, device_name: str, cfg: DictConfig):
    """(model on device, run config, checkpoint path, device) from a seg checkpoint."""
    from seg_cli.engine import distributed
    from seg_cli.engine.checkpoint import load_checkpoint
    from seg_cli.errors import CheckpointError
    from seg_cli.models.build import build_model, load_model_state

    path = resolve_checkpoint(ckpt, output_root, "best.pt")
    state = load_checkpoint(path)
    if "config" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not a seg checkpoint (no config); use model.weights=PATH in seg train")
    config = merged_run_config(state["config"], cfg)
    model = build_model({**config["model"], "weights": None})
    load_model_state(model, state["model"], path)
    device = distributed.local_device(device_name)
    return model.to(device).eval(), config, path, device


@hydra.main(version_base=None, config_path=config_dir(), config_name="eval")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    absolutize_paths(cfg)
    validate_eval_section(cfg.eval)
    require_workers("workers", cfg.workers)
    from seg_cli.data.build import build_dataset, build_eval_loader, resolve_workers
    from seg_cli.engine import distributed
    from seg_cli.engine.fit import write_json
    from seg_cli.engine.loop import evaluate
    from seg_cli.metrics.scorers import build_scorer

    distributed.init_distributed()
    model, config, path, device = load_trained_model(cfg.ckpt, cfg.output_root, cfg.device, cfg)
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
