"""`seg info`: parameter count and FLOPs of a model config at a given input size (no weights needed)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seg_cli.commands import schema
from seg_cli.commands.common import reports_errors
from seg_cli.commands.validation import require_positive
from seg_cli.errors import ConfigError
from seg_cli.models.weight_keys import without_downloads
from seg_cli.paths import config_dir

log = logging.getLogger("seg.info")
schema.register()

FLOP_COUNTER = "torch.utils.flop_counter.FlopCounterMode"


def offline_model_config(cfg: DictConfig) -> dict[str, Any]:
    """The model config with every weight source switched off: counting needs the architecture only."""
    try:
        config = OmegaConf.to_container(cfg.model, resolve=True, throw_on_missing=True)
    except Exception as exc:  # omegaconf's MissingMandatoryValue / InterpolationResolutionError
        raise ConfigError(f"model config: {exc}".splitlines()[0]) from None
    from seg_cli.models.contract import family_spec  # torch: not for `seg info --help`

    return without_downloads(config, family_spec(config).download_keys)


def count_parameters(model) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def count_flops(model, shape: tuple[int, ...]) -> tuple[int, dict[str, int]]:
    """Total FLOPs of one forward pass and the FLOPs of each top-level sub-module.

    The pass runs on the meta device (shapes only, no arithmetic), so a ResNet-101 at 1024 px costs
    nothing; a model with an op that has no meta kernel falls back to a real CPU pass.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    for device in ("meta", "cpu"):
        counter = FlopCounterMode(display=False)
        try:
            with torch.no_grad(), counter:
                copy.deepcopy(model).to(device)(torch.zeros(shape, device=device))
            break
        except (NotImplementedError, RuntimeError):
            if device == "cpu":
                raise
    return counter.get_total_flops(), top_level_flops(counter.get_flop_counts(), type(model).__name__)


def top_level_flops(counts: dict[str, dict[Any, int]], root: str) -> dict[str, int]:
    """FLOPs per top-level sub-module; a wrapper holding one sub-module that does all the work (a model
    family's adapter around its library's model) is looked through, so its parts show (`model.encoder`)."""
    totals, prefix = _flops_by_child(counts, root), ""
    while len(totals) == 1:
        (only,) = totals
        inner = _flops_by_child(counts, f"{root}.{prefix}{only}")
        if not inner:
            break
        prefix += f"{only}."
        totals = inner
    return {f"{prefix}{name}": value for name, value in totals.items()}


def _flops_by_child(counts: dict[str, dict[Any, int]], root: str) -> dict[str, int]:
    """FLOPs per child of `root`. The counter records only modules that ran, so a ModuleList shows up as its
    items (`downs.0`, `downs.1`): sum the outermost recorded modules under each name."""
    names = [name.removeprefix(root + ".") for name in counts if name.startswith(root + ".")]
    outermost = [n for n in names if not any(n.startswith(other + ".") for other in names)]
    totals: dict[str, int] = {}
    for name in outermost:
        key = name.split(".")[0]
        totals[key] = totals.get(key, 0) + sum(counts[f"{root}.{name}"].values())
    return totals


def human(value: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} "


@hydra.main(version_base=None, config_path=config_dir(), config_name="info")
@reports_errors
def main(cfg: DictConfig) -> dict[str, Any]:
    for key in ("height", "width", "batch_size"):
        require_positive(key, cfg[key])
    model_cfg = offline_model_config(cfg)
    import torch  # noqa: F401  (late: `seg info --help` must not pay for importing torch)

    from seg_cli.models.build import build_model

    model = build_model(model_cfg).eval()
    total, trainable = count_parameters(model)
    shape = (cfg.batch_size, model_cfg.get("in_channels", 3), cfg.height, cfg.width)
    flops, children = count_flops(model, shape)
    per_image = flops / cfg.batch_size
    name = HydraConfig.get().runtime.choices.get("model", "?")
    print(f"model       {name} ({model_cfg['_target_']}, {model_cfg.get('num_classes')} output channels)")
    print(f"parameters  {total:,} total, {trainable:,} trainable ({total * 4 / 2**20:.1f} MiB as float32)")
    print(f"input       {' x '.join(map(str, shape))}")
    print(f"FLOPs       {human(per_image)}FLOPs per image ({human(per_image / 2)}MACs)")
    print(f"            counted by {FLOP_COUNTER}: convolutions and matrix products")
    print("            (1 multiply-add = 2 FLOPs; norms, activations and resizes are not counted)")
    for child, child_flops in sorted(children.items(), key=lambda kv: -kv[1]):
        share = 100 * child_flops / max(flops, 1)
        print(f"  {child:<22} {human(child_flops / cfg.batch_size):>9}FLOPs {share:5.1f}%")
    return {"parameters": total, "trainable": trainable, "flops_per_image": per_image}
