"""`seg predict IMG|DIR|@LIST ...`: per-image masks, overlays, probabilities or cut-outs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.choices import PREDICT_BACKENDS, PREDICT_SAVE
from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    run_dir,
    to_plain,
    trained_model,
)
from seg_cli.commands.validation import inference_settings, require_choice, require_device
from seg_cli.engine.prediction_files import is_prediction_output, plan_stems, save_outputs
from seg_cli.errors import ConfigError, DataError
from seg_cli.metrics.threshold import as_threshold, file_threshold, parse_threshold, resolve_threshold
from seg_cli.paths import config_dir
from seg_cli.tasks import DEFAULT_TASK, get_task
from seg_cli.values import as_list

log = logging.getLogger("seg.predict")
schema.register()

def load_predictor(cfg: DictConfig) -> tuple[Any, dict[str, Any], str, Any]:
    """(model, dataset config, description, device) for the chosen backend."""
    require_choice("backend", cfg.backend, PREDICT_BACKENDS)
    if cfg.backend == "onnx":
        if not cfg.model_file:
            raise ConfigError("backend=onnx needs model_file=PATH (an export of `seg export format=onnx`)")
        from seg_cli.export.onnx_runtime import OnnxModel

        model = OnnxModel(cfg.model_file)
        meta = model.metadata
        dataset = {"base_size": meta.get("base_size"), "resize": meta.get("resize", "shorter"),
                   "task": meta.get("task", DEFAULT_TASK), "num_classes": meta.get("num_classes"),
                   "in_channels": meta.get("in_channels", 3), "mean": meta.get("mean"), "std": meta.get("std"),
                   "palette": meta.get("palette")}
        if not dataset["base_size"] or not dataset["num_classes"]:
            raise ConfigError(f"{cfg.model_file} carries no seg metadata; export it with `seg export`")
        return model, dataset, cfg.model_file, "cpu"
    model, config, path, device = trained_model(cfg, cfg.device)
    return model, config["dataset"], str(path), device


def mask_threshold(given: float | None, backend: str, model: Any, source: str) -> float:
    """`threshold=` of binary masks: the given one, else (auto) the stored one, else 0.5; logged."""
    threshold, origin = resolve_threshold(given, stored_threshold(backend, model, source) if given is None else None)
    log.info("binary masks: foreground where prob >= %.4f (%s)", threshold, origin)
    return threshold


def stored_threshold(backend: str, model: Any, source: str) -> float | None:
    """The max-F threshold the checkpoint's validation found (see checkpoint_threshold); an ONNX export's
    where its metadata carries a `best_threshold`."""
    if backend == "onnx":
        return as_threshold(model.metadata.get("best_threshold"))
    return file_threshold(source)


def find_inputs(inputs: list[str], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """(image files, paths that do not exist) of the command line's inputs, leaving out `out_dir` where it lies
    inside an input folder; each path not found is logged as an input that cannot be read."""
    from seg_cli.data.io import list_images

    missing: list[Path] = []
    earlier: list[Path] = []

    def earlier_output(path: Path) -> bool:
        marked = is_prediction_output(path)
        if marked:
            earlier.append(path)
        return marked

    images = list_images(inputs, skip=out_dir, on_missing=missing.append, exclude=earlier_output)
    if earlier:
        log.info("left out %d file(s) an earlier seg predict wrote, e.g. %s", len(earlier), earlier[0])
    if not images and missing:
        raise DataError(f"input not found: {', '.join(map(str, missing))}")
    if not images:
        raise DataError(f"no image files found in {', '.join(inputs)}")
    for path in missing:
        log.error("input not found: %s", path)
    return images, missing


@hydra.main(version_base=None, config_path=config_dir(), config_name="predict")
@reports_errors
def main(cfg: DictConfig) -> int:
    absolutize_paths(cfg)
    if not cfg.inputs:
        raise ConfigError("no input images: run `seg predict IMG|DIR|@LIST ...`")
    given_threshold = parse_threshold("threshold", cfg.threshold)
    require_device("device", cfg.device)
    require_choice("backend", cfg.backend, PREDICT_BACKENDS)
    given_save = as_list("save", to_plain(cfg.save), str) if cfg.save else None
    for kind in given_save or ():
        require_choice("save", kind, PREDICT_SAVE)
    infer = inference_settings(cfg) or {}  # config first: a bad key fails before the model is loaded
    import torch
    from PIL import Image

    from seg_cli.data.bands import rgb_view
    from seg_cli.data.build import build_eval_transform, image_channels
    from seg_cli.data.io import load_image
    from seg_cli.engine.inference import predict_logits

    out_dir = Path(cfg.out) if cfg.out else run_dir()
    images, missing = find_inputs(list(cfg.inputs), out_dir)
    stems = plan_stems(images, [Path(p) for p in cfg.inputs if Path(p).is_dir()], out_dir)  # before any write
    model, dataset, source, device = load_predictor(cfg)
    task = dataset.get("task", DEFAULT_TASK)
    rules = get_task(task)  # binary: masks cut at a threshold; each task's default outputs
    threshold = mask_threshold(given_threshold, cfg.backend, model, source) if rules.thresholded else 0.5
    save = given_save or list(rules.default_save)
    transform = build_eval_transform(dataset)
    channels = image_channels(dataset)  # the checkpoint's (or the export's) dataset.in_channels
    log.info("predicting %d image(s) with %s", len(images), source)
    written = 0
    for image_path in images:
        try:
            image = load_image(image_path, cfg.max_pixels, channels)
        except DataError as exc:
            log.error("%s", exc)
            continue
        rgb = Image.fromarray(rgb_view(image))  # what overlays and cut-outs show: grey replicated, N bands' first 3
        batch = transform(image)[0].unsqueeze(0).to(device)
        logits = predict_logits(model, batch, num_classes=dataset["num_classes"], **infer)
        logits = torch.nn.functional.interpolate(logits.float(), size=(rgb.height, rgb.width), mode="bilinear",
                                                 align_corners=False)
        save_outputs(stems[image_path], rgb, logits, task, save, cfg.overlay_alpha, dataset.get("palette"), threshold)
        written += 1
    print(f"seg predict: wrote {', '.join(save)} for {written} image(s) to {out_dir}")
    inputs = len(images) + len(missing)
    if written < inputs:
        print(f"seg predict: {inputs - written} of {inputs} input(s) could not be read (see above)", file=sys.stderr)
        sys.exit(1)
    return written
