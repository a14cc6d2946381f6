"""What the command apps share: error reporting, config to plain data, paths, checkpoint lookup."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from seg_cli.errors import CheckpointError, SegError, one_line

log = logging.getLogger("seg")

# Keys whose values are file-system paths: made absolute before they enter a run's saved config.
PATH_KEYS = ("dataset.root", "model.weights", "ckpt", "out", "output_root", "train.resume", "model_file")


def reports_errors(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Turn user mistakes (SegError) into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(task)
    def wrapper(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except (SegError, OmegaConfBaseException) as exc:
            message = _config_message(exc) if isinstance(exc, OmegaConfBaseException) else one_line(exc)
            log.error(message)
            print(f"seg: error: {message}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("seg: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper


def _config_message(exc: OmegaConfBaseException) -> str:
    """OmegaConf's multi-line errors as one line that names the key."""
    key = getattr(exc, "full_key", None)
    if isinstance(exc, MissingMandatoryValue) and key:
        return f"{key} is required: add {key}=... to the command line"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{key}: {first}" if key and key not in first else first


def run_dir() -> Path:
    """This job's Hydra output directory (one per run, per multirun job)."""
    return Path(HydraConfig.get().runtime.output_dir)


def absolutize_paths(cfg: DictConfig) -> None:
    """Relative paths on the command line mean relative to where `seg` was started: fix them now."""
    for key in PATH_KEYS:
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, str) and value and value not in ("auto", "???") and not Path(value).is_absolute():
            OmegaConf.update(cfg, key, str(Path(value).resolve()), merge=False)


def to_plain(cfg: Any) -> Any:
    """A resolved plain copy of a config node (no DictConfig ever reaches the library code); plain values
    pass through."""
    if not isinstance(cfg, (DictConfig, ListConfig)):
        return cfg
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def search_roots(output_root: str) -> list[Path]:
    """Where runs of `seg train` live: <output_root>/train and multirun/train."""
    return [Path(output_root) / "train", Path("multirun").resolve() / "train"]


def find_checkpoint(key: str, given: str | None, output_root: str, name: str, resuming: bool = False) -> Path | None:
    """The checkpoint `key=given` names: a path, which must exist; else the newest `checkpoints/<name>` of
    any earlier training run (None when there is none). When `resuming` (`train.resume=auto`), this job's
    own run dir comes first: a requeued cluster job comes back to it."""
    from seg_cli.checkpoint import find_newest

    if given and not (resuming and given == "auto"):
        path = Path(given)
        if not path.is_file():
            raise CheckpointError(f"{key}={given}: file not found")
        return path
    own = run_dir() / "checkpoints" / name
    if resuming and own.is_file():
        return own
    return find_newest(search_roots(output_root), name)


def trained_model(cfg: DictConfig, device_name: str) -> tuple[Any, dict[str, Any], Path, Any]:
    """(model, run config, checkpoint path, device) for `ckpt=` (default: the newest best.pt), with this
    command's `model.*` / `dataset.*` overrides on top of the checkpoint's config."""
    from seg_cli.engine.trained import load_trained_model

    path = find_checkpoint("ckpt", cfg.ckpt, cfg.output_root, "best.pt")
    if path is None:
        where = " and ".join(str(r) for r in search_roots(cfg.output_root))
        raise CheckpointError(f"no checkpoints/best.pt found under {where}; run `seg train` first or pass ckpt=PATH")
    overrides = {"model": to_plain(cfg.model), "dataset": to_plain(cfg.dataset)}
    model, config, device = load_trained_model(path, overrides, device_name)
    return model, config, path, device


def resume_config(state: dict[str, Any], cfg: DictConfig) -> DictConfig:
    """A checkpoint's run config with the keys this command line set (`key=value`, `group=option`) on top.

    `seg train train.resume=auto train.epochs=40` thus continues the earlier run with its own model,
    dataset and optimizer, training to epoch 40.
    """
    if "config" not in state:
        raise CheckpointError("the resume checkpoint holds no run config; is it a seg checkpoint?")
    merged = OmegaConf.create(state["config"])
    for section in ("train", "data", "eval"):  # keys added to seg since the checkpoint get today's defaults
        today = OmegaConf.to_container(cfg[section], resolve=True)
        merged[section] = OmegaConf.merge(today, merged[section]) if section in merged else today
    for override in HydraConfig.get().overrides.task:
        key = override.split("=", 1)[0].lstrip("+~")
        if key.startswith("hydra.") or "=" not in override:
            continue
        value = OmegaConf.select(cfg, key, default=None)
        OmegaConf.update(merged, key, value, merge=False, force_add=True)
    OmegaConf.update(merged, "train.resume", cfg.train.resume, merge=False)
    OmegaConf.set_struct(merged, True)
    return merged


def run_overrides() -> dict[str, str]:
    """This job's command-line overrides as {key: value} (the HParams of a sweep job)."""
    pairs = (o.lstrip("+~").split("=", 1) for o in HydraConfig.get().overrides.task if "=" in o)
    return {key: value for key, value in pairs if not key.startswith("hydra.")}
