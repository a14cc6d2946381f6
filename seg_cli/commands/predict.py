"""`seg predict IMG|DIR ...`: masks and overlays (binary tasks: probability, mask, cut-out) per image."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seg_cli.commands import schema
from seg_cli.commands.common import absolutize_paths, reports_errors, run_dir
from seg_cli.commands.evaluate import load_trained_model
from seg_cli.errors import ConfigError, DataError
from seg_cli.paths import config_dir

log = logging.getLogger("seg.predict")
schema.register()


def output_stem(image: Path, inputs: list[str], out_dir: Path) -> Path:
    """Images found inside a given folder keep their sub-folder under out_dir, so stems cannot collide."""
    for raw in inputs:
        root = Path(raw)
        if root.is_dir() and image.is_relative_to(root):
            return out_dir / image.relative_to(root).with_suffix("")
    return out_dir / image.stem


def save_outputs(stem: Path, rgb, logits, task: str, overlay_alpha: float) -> None:
    """Multi-class: <stem>.png (palette) + <stem>_overlay.jpg; binary: _prob.png, .png (0/255), _cutout.png."""
    import numpy as np
    from PIL import Image

    from seg_cli.data.palette import overlay, palette_image

    stem.parent.mkdir(parents=True, exist_ok=True)
    if task == "binary":
        prob = logits[0, 0].float().sigmoid().cpu().numpy()
        prob8 = (prob * 255).round().astype(np.uint8)
        Image.fromarray(prob8, mode="L").save(stem.with_name(stem.name + "_prob.png"))
        Image.fromarray(np.where(prob >= 0.5, 255, 0).astype(np.uint8), mode="L").save(stem.with_name(stem.name + ".png"))
        cutout = rgb.convert("RGBA")
        cutout.putalpha(Image.fromarray(prob8, mode="L"))
        cutout.save(stem.with_name(stem.name + "_cutout.png"))
        return
    mask = logits.argmax(1)[0].cpu().numpy().astype(np.uint8)
    palette_image(mask).save(stem.with_name(stem.name + ".png"))
    overlay(rgb, mask, overlay_alpha).save(stem.with_name(stem.name + "_overlay.jpg"), quality=90)


@hydra.main(version_base=None, config_path=config_dir(), config_name="predict")
@reports_errors
def main(cfg: DictConfig) -> int:
    absolutize_paths(cfg)
    if not cfg.inputs:
        raise ConfigError("no input images: run `seg predict IMG|DIR ...`")
    import numpy as np
    import torch

    from seg_cli.data.build import build_eval_transform
    from seg_cli.data.io import list_images, load_rgb
    from seg_cli.models.build import model_outputs

    images = list_images(list(cfg.inputs))
    if not images:
        raise DataError(f"no image files found in {', '.join(cfg.inputs)}")
    model, config, path, device = load_trained_model(cfg.ckpt, cfg.output_root, cfg.device, cfg)
    transform = build_eval_transform(config["dataset"])
    task = config["dataset"].get("task", "multiclass")
    out_dir = Path(cfg.out) if cfg.out else run_dir()
    log.info("predicting %d image(s) with %s", len(images), path)
    failed = 0
    for image_path in images:
        try:
            rgb = load_rgb(image_path, cfg.max_pixels)
        except DataError as exc:
            failed += 1
            log.error("%s", exc)
            continue
        batch = transform(torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1))[0].unsqueeze(0).to(device)
        with torch.inference_mode():
            logits = model_outputs(model(batch))["out"].float()
            logits = torch.nn.functional.interpolate(logits, size=(rgb.height, rgb.width), mode="bilinear",
                                                     align_corners=False)
        save_outputs(output_stem(image_path, list(cfg.inputs), out_dir), rgb, logits, task, cfg.overlay_alpha)
    written = len(images) - failed
    print(f"seg predict: wrote predictions for {written} image(s) to {out_dir}")
    if failed:
        print(f"seg predict: {failed} of {len(images)} input(s) could not be read (see above)", file=sys.stderr)
        sys.exit(1)
    return written
