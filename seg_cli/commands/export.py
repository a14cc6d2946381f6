"""`seg export`: a checkpoint as ONNX or TorchScript (dynamic batch/height/width) or as a Hugging Face / SMP folder,
checked against PyTorch. The formats are the modules of seg_cli/export/formats/; this command checks and wires."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from seg_cli.choices import EXPORT_FORMATS, ONNX_EXPORTERS
from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    run_dir,
    trained_model,
)
from seg_cli.commands.validation import require_choice, require_positive
from seg_cli.errors import SegError, one_line
from seg_cli.models.weight_keys import weights_in_config
from seg_cli.paths import config_dir
from seg_cli.tasks import DEFAULT_TASK, get_task

log = logging.getLogger("seg.export")
schema.register()


def validate(cfg: DictConfig) -> None:
    require_choice("format", cfg.format, EXPORT_FORMATS)
    require_choice("onnx_exporter", cfg.onnx_exporter, ONNX_EXPORTERS)
    require_positive("batch_size", cfg.batch_size)
    require_positive("tolerance", cfg.tolerance, allow_zero=True)
    for key in ("height", "width", "opset"):
        if cfg[key] is not None:
            require_positive(key, cfg[key])


def stored_threshold(config: dict[str, Any], weights: Path) -> float | None:
    """A binary model's max-F threshold, as its checkpoint stores it (None for other tasks, or none stored)."""
    if not get_task(config["dataset"].get("task", DEFAULT_TASK)).thresholded:
        return None
    from seg_cli.metrics.threshold import file_threshold

    return file_threshold(weights)


def uses_checkpoint(cfg: DictConfig) -> bool:
    """Whether the weights are a seg checkpoint (ckpt=, or the newest best.pt) rather than model.weights or
    published ones (see trained_model)."""
    return bool(cfg.ckpt) or not weights_in_config(cfg.model)


@hydra.main(version_base=None, config_path=config_dir(), config_name="export")
@reports_errors
def main(cfg: DictConfig) -> float:
    absolutize_paths(cfg)
    validate(cfg)
    import torch  # late: `seg export --help` must not pay for importing torch

    from seg_cli.data.transform_config import image_channels
    from seg_cli.export import exporters as ex
    from seg_cli.export.formats import check_fits, format_class
    from seg_cli.models.contract import size_bound

    fmt = format_class(cfg.format).from_settings({"opset": cfg.opset, "onnx_exporter": cfg.onnx_exporter})
    missing = fmt.missing_packages()  # before the model loads
    if missing:
        raise SegError(f"format={cfg.format} needs {', '.join(missing)}: {fmt.install_hint(missing)}")
    model, config, ckpt, _ = trained_model(cfg, "cpu")
    check_fits(fmt, model)
    channels = image_channels(config["dataset"])  # the checkpoint's dataset.in_channels
    base = config["dataset"].get("base_size")
    height, width = cfg.height or base, cfg.width or base
    out = Path(cfg.out) if cfg.out else run_dir() / f"model{fmt.suffix}"
    out.parent.mkdir(parents=True, exist_ok=True)
    sample = torch.randn(cfg.batch_size, channels, height, width, generator=torch.Generator().manual_seed(0))
    metadata = ex.model_metadata(config, stored_threshold(config, ckpt))
    how = fmt.describe()
    log.info("exporting %s with %s to %s", ckpt, how, out)
    written = write_export(fmt, model.eval(), sample, out, metadata, size_bound(model))
    shapes = ex.check_shapes(cfg.batch_size, height, width, channels, fixed=written.fixed_size is not None)
    differences = ex.max_abs_differences(ex.LogitsOnly(model).eval(), written.run, shapes)
    worst = max(differences)
    classes = config["model"].get("num_classes")
    print(f"seg export: wrote {out} ({written.kind}, {how}; {fmt.usage(channels, classes, written.fixed_size)})")
    if written.fixed_size:
        size = "x".join(map(str, written.fixed_size))
        print(f"seg export: {out.name} takes {size} images only ({written.why}); seg predict resizes images to "
              f"that size and the logits back, other programs must do the same")
    measured = ", ".join(f"{d:.2e} on {'x'.join(map(str, s))}" for d, s in zip(differences, shapes, strict=True))
    print(f"seg export: max |{cfg.format} - pytorch| = {worst:.2e} ({measured}; tolerance {cfg.tolerance:g})")
    if not worst <= cfg.tolerance:  # `not <=` so that NaN fails too
        raise SegError(f"the exported model differs from PyTorch by {worst:.3g} > tolerance={cfg.tolerance:g}; "
                       f"the file is kept at {out} for inspection")
    # Last, so scripts and people see which file "the newest best.pt" was: runs may finish in between.
    print(f"seg export: from {'checkpoint' if uses_checkpoint(cfg) else 'weights'} {Path(ckpt).resolve()}")
    return worst


def write_export(fmt: Any, model: Any, sample: Any, out: Path, metadata: dict[str, Any], bound: bool) -> Any:
    """fmt.write, its failures as one line (the details in a file)."""
    try:
        return fmt.write(model, sample, out, metadata, bound)
    except SegError:
        raise
    except Exception as exc:  # exporters fail in many ways; the details go to a file, one line to the user
        details = run_dir() / "export_error.txt"
        details.write_text(traceback.format_exc())
        raise SegError(f"{fmt.name} export failed: {one_line(exc)[:300]} (details in {details}; "
                       f"try {fmt.hint})") from None
