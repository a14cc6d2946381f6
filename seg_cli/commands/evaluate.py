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
from seg_cli.commands.validation import (
    inference_settings,
    require_device,
    require_workers,
    table_metrics,
    validate_eval_section,
)
from seg_cli.paths import config_dir
from seg_cli.tasks import DEFAULT_TASK, get_task

log = logging.getLogger("seg.eval")
schema.register()


@hydra.main(version_base=None, config_path=config_dir(), config_name="eval")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    absolutize_paths(cfg)
    validate_eval_section(cfg.eval)
    require_workers("workers", cfg.workers)
    require_device("device", cfg.device)
    infer = inference_settings(cfg)  # config first: a bad infer.* key fails before a checkpoint is loaded
    from seg_cli.data.build import build_dataset, build_eval_loader, resolve_workers
    from seg_cli.engine import distributed
    from seg_cli.engine.loop import evaluate
    from seg_cli.engine.panels import save_worst_panels
    from seg_cli.metrics.per_image import PerImageResults, write_per_image_csv
    from seg_cli.utils import write_json

    distributed.init_distributed()
    model, config, path, device = trained_model(cfg, cfg.device, dataset_required=True)
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
    task = d.get("task", DEFAULT_TASK)
    scorer = get_task(task).build_scorer(d["num_classes"], d["ignore_index"], dataset.class_names, device,
                                         sod_normalize, table_metrics(cfg.eval))
    per_image = PerImageResults(task, d["num_classes"], d["ignore_index"], device, sod_normalize)
    evaluate(model, loader, device, d["num_classes"], d["ignore_index"], scorer=scorer, infer=infer,
             per_image=per_image)
    metrics = {**scorer.compute(), "checkpoint": str(path), "split": cfg.split}
    if config.get("published"):  # torchvision's own figures for its published weights, shown beside ours
        metrics["published"] = config["published"]
    if distributed.is_main_process():
        log.info("\n%s", scorer.format(metrics))
        if metrics.get("published"):
            from seg_cli.models.published import format_published

            log.info("\n%s", format_published(metrics))
        write_json(metrics, run_dir() / "metrics.json")
        log.info("metrics written to %s", run_dir() / "metrics.json")
        rows = per_image.rows(dataset.sample_files, dataset.class_names)
        write_per_image_csv(rows, run_dir() / "per_image.csv")
        if cfg.eval.worst:
            saved = save_worst_panels(run_dir() / "worst", model, dataset, device, rows, cfg.eval.worst, task, infer,
                                      sod_normalize)
            log.info("panels of the %d worst images written to %s", len(saved), run_dir() / "worst")
        write_pictures(task, metrics, rows, dataset.class_names, cfg.eval.plots)
        print(summary_line(metrics, task, len(dataset)))
    distributed.cleanup()
    return metrics


def write_pictures(task: str, metrics: dict[str, Any], rows: list[dict[str, Any]], class_names: list[str],
                   plots: bool) -> None:
    """The task's plots beside metrics.json (`eval.plots`), then report.html; neither can fail the run (one
    warning line)."""
    from seg_cli.reports.safe import task_plots, write_plots, write_report_safely

    if plots:
        written = write_plots(task_plots(get_task(task), metrics, rows, list(class_names)), run_dir())
        log.info("plots written: %s", ", ".join(path.name for path in written) or "none")
    write_report_safely(run_dir())


def summary_line(metrics: dict[str, Any], task: str, images: int) -> str:
    """The last line of `seg eval`: the headline metric and the checkpoint it was measured on, which
    argument-less `seg eval` picked itself (the newest best.pt, perhaps of a run still training)."""
    from seg_cli.metrics.names import resolve_best_metric

    name = resolve_best_metric(task, "auto")
    value = metrics.get(name)
    shown = f"{value:.4f}" if isinstance(value, (int, float)) and value == value else "n/a"  # None or NaN: no pixels
    return (f"seg eval: {name} {shown} on {images} {metrics['split']} image(s) with {metrics['checkpoint']}; "
            f"metrics in {run_dir() / 'metrics.json'}")
