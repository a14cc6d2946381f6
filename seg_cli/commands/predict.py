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
from seg_cli.commands.validation import inference_settings, require_choice
from seg_cli.errors import ConfigError, DataError
from seg_cli.metrics.threshold import (
    checkpoint_threshold,
    parse_threshold,
    resolve_threshold,
    valid_threshold,
)
from seg_cli.paths import config_dir
from seg_cli.values import as_list

log = logging.getLogger("seg.predict")
schema.register()

DEFAULT_SAVE = {"multiclass": ["mask", "overlay"], "binary": ["prob", "mask", "cutout"]}


def output_stem(image: Path, inputs: list[str], out_dir: Path) -> Path:
    """Images found inside a given folder keep their sub-folder under out_dir, so stems cannot collide."""
    for raw in inputs:
        root = Path(raw)
        if root.is_dir() and image.is_relative_to(root):
            return out_dir / image.relative_to(root).with_suffix("")
    return out_dir / image.stem


def save_outputs(stem: Path, rgb, logits, task: str, save: list[str], overlay_alpha: float,
                 colours: list | None = None, threshold: float = 0.5) -> None:
    """Write the requested files for one image from its (1, C, H, W) logits, in the dataset's class `colours`
    (its `palette`; VOC's colour map where it has none); binary masks are foreground where prob >= `threshold`.

    mask: class-index palette PNG (binary: 0/255); color: RGB colour mask; overlay: photo tinted by the
    mask; prob: 8-bit probability (binary: foreground; multi-class: of the predicted class);
    cutout: RGBA photo with alpha = foreground probability (binary only).
    """
    import numpy as np
    from PIL import Image

    from seg_cli.data.palette import overlay, palette_image

    stem.parent.mkdir(parents=True, exist_ok=True)
    if task == "binary":
        prob = logits[0, 0].float().sigmoid().cpu().numpy()
        mask = (prob >= threshold).astype(np.uint8)
    else:
        probs = logits[0].float().softmax(0)
        prob, labels = (t.cpu().numpy() for t in probs.max(0))
        mask = labels.astype(np.uint8)
    prob8 = Image.fromarray((prob * 255).round().astype(np.uint8), mode="L")

    def path(suffix: str) -> Path:
        return stem.with_name(stem.name + suffix)

    for kind in save:
        if kind == "mask":
            (Image.fromarray(mask * 255, mode="L") if task == "binary" else palette_image(mask, colours)).save(path(".png"))
        elif kind == "color":
            palette_image(mask, colours).convert("RGB").save(path("_color.png"))
        elif kind == "overlay":
            overlay(rgb, mask, overlay_alpha, colours).save(path("_overlay.jpg"), quality=90)
        elif kind == "prob":
            prob8.save(path("_prob.png"))
        elif kind == "cutout":
            cutout = rgb.convert("RGBA")
            cutout.putalpha(prob8)
            cutout.save(path("_cutout.png"))


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
                   "task": meta.get("task", "multiclass"), "num_classes": meta.get("num_classes"),
                   "in_channels": meta.get("in_channels", 3), "mean": meta.get("mean"), "std": meta.get("std")}
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
        return valid_threshold(model.metadata.get("best_threshold"))
    if not Path(source).is_file():
        return None
    from seg_cli.checkpoint import load_checkpoint

    return checkpoint_threshold(load_checkpoint(source))


@hydra.main(version_base=None, config_path=config_dir(), config_name="predict")
@reports_errors
def main(cfg: DictConfig) -> int:
    absolutize_paths(cfg)
    if not cfg.inputs:
        raise ConfigError("no input images: run `seg predict IMG|DIR|@LIST ...`")
    given_threshold = parse_threshold("threshold", cfg.threshold)
    import torch
    from PIL import Image

    from seg_cli.data.bands import rgb_view
    from seg_cli.data.build import build_eval_transform, image_channels
    from seg_cli.data.io import list_images, load_image
    from seg_cli.engine.inference import predict_logits

    images = list_images(list(cfg.inputs))
    if not images:
        raise DataError(f"no image files found in {', '.join(cfg.inputs)}")
    model, dataset, source, device = load_predictor(cfg)
    task = dataset.get("task", "multiclass")
    threshold = mask_threshold(given_threshold, cfg.backend, model, source) if task == "binary" else 0.5
    save = as_list("save", to_plain(cfg.save), str) if cfg.save else DEFAULT_SAVE[task]
    for kind in save:
        require_choice("save", kind, PREDICT_SAVE)
    infer = inference_settings(cfg) or {}
    transform = build_eval_transform(dataset)
    channels = image_channels(dataset)  # the checkpoint's (or the export's) dataset.in_channels
    out_dir = Path(cfg.out) if cfg.out else run_dir()
    log.info("predicting %d image(s) with %s", len(images), source)
    failed = 0
    for image_path in images:
        try:
            image = load_image(image_path, cfg.max_pixels, channels)
        except DataError as exc:
            failed += 1
            log.error("%s", exc)
            continue
        rgb = Image.fromarray(rgb_view(image))  # what overlays and cut-outs show: grey replicated, N bands' first 3
        batch = transform(image)[0].unsqueeze(0).to(device)
        logits = predict_logits(model, batch, num_classes=dataset["num_classes"], **infer)
        logits = torch.nn.functional.interpolate(logits.float(), size=(rgb.height, rgb.width), mode="bilinear",
                                                 align_corners=False)
        save_outputs(output_stem(image_path, list(cfg.inputs), out_dir), rgb, logits, task, save, cfg.overlay_alpha,
                     dataset.get("palette"), threshold)
    print(f"seg predict: wrote {', '.join(save)} for {len(images) - failed} image(s) to {out_dir}")
    if failed:
        print(f"seg predict: {failed} of {len(images)} input(s) could not be read (see above)", file=sys.stderr)
        sys.exit(1)
    return len(images) - failed
