"""`seg predict IMG|VIDEO|DIR|@LIST ...`: masks, overlays, probabilities or cut-outs per image; per video, videos.

The command checks the config and wires up the library (seg_cli.predict): an input source, a predictor, the
output writers, and the loop that joins them.
"""

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
from seg_cli.errors import ConfigError
from seg_cli.metrics.threshold import parse_threshold
from seg_cli.paths import config_dir
from seg_cli.predict.background import parse_background
from seg_cli.predict.foreground import check_foreground
from seg_cli.predict.options import PredictOptions
from seg_cli.predict.predictor import Predictor, onnx_predictor
from seg_cli.predict.run import predict_source
from seg_cli.predict.sources import build_sources
from seg_cli.predict.writers import build_writers
from seg_cli.values import as_list

log = logging.getLogger("seg.predict")
schema.register()


def load_predictor(cfg: DictConfig, infer: dict[str, Any]) -> Predictor:
    """The chosen backend's predictor: an ONNX export, or a torch model (a checkpoint, or published weights;
    see trained_model)."""
    require_choice("backend", cfg.backend, PREDICT_BACKENDS)
    if cfg.backend == "onnx":
        return onnx_predictor(cfg.model_file, infer)
    model, config, path, device = trained_model(cfg, cfg.device)
    return Predictor(model, config["dataset"], str(path), device, infer=infer)


def checked_save(cfg: DictConfig) -> list[str] | None:
    """The `save=` kinds asked for (None: the task's default), each one of PREDICT_SAVE."""
    given = as_list("save", to_plain(cfg.save), str) if cfg.save else None
    for kind in given or ():
        require_choice("save", kind, PREDICT_SAVE)
    return given


@hydra.main(version_base=None, config_path=config_dir(), config_name="predict")
@reports_errors
def main(cfg: DictConfig) -> int:
    absolutize_paths(cfg)
    if not cfg.inputs:
        raise ConfigError("no input images: run `seg predict IMG|DIR|@LIST ...`")
    given_threshold = parse_threshold("threshold", cfg.threshold)
    require_device("device", cfg.device)
    require_choice("backend", cfg.backend, PREDICT_BACKENDS)
    given_save = checked_save(cfg)
    infer = inference_settings(cfg) or {}  # config first: a bad key fails before the model is loaded
    out_dir = Path(cfg.out) if cfg.out else run_dir()
    options = PredictOptions.from_config(to_plain(cfg.predict))
    parse_background(options.background)  # a bad colour or unreadable image fails before the model loads
    check_foreground(options.foreground)
    sources = build_sources(list(cfg.inputs), out_dir, cfg.max_pixels, options)  # names outputs before any write
    predictor = load_predictor(cfg, infer)
    threshold = predictor.threshold(given_threshold)  # binary: masks cut at a threshold
    written = failed = 0
    for source in sources:  # each kind of input writes its own default outputs (a video: videos)
        save = given_save or source.default_save(predictor.task, options)
        writers = build_writers(save, overlay_alpha=cfg.overlay_alpha, options=options)
        done, skipped = predict_source(source, predictor, writers, threshold)
        written, failed = written + done, failed + skipped + source.not_found
        print(f"seg predict: wrote {', '.join(save)} for {source.summary(done)} to {out_dir}")
    inputs = sum(source.inputs for source in sources)
    if failed:
        print(f"seg predict: {failed} of {inputs} input(s) could not be read (see above)", file=sys.stderr)
        sys.exit(1)
    return written
