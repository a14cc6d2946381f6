"""What the command apps share: error reporting, config to plain data, paths, checkpoint lookup."""

from __future__ import annotations

import functools
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from seg_cli.errors import CheckpointError, ConfigError, SegError, one_line
from seg_cli.models.weight_keys import weights_in_config

log = logging.getLogger("seg")

# Keys whose values are file-system paths: made absolute before they enter a run's saved config.
PATH_KEYS = ("dataset.root", "model.weights", "ckpt", "out", "output_root", "train.resume", "model_file")


def reports_errors(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Turn user mistakes (SegError) into one line on stderr and exit status 1, never a traceback.

    The line is printed once on the terminal and kept in the run's log file; a run dir that the mistake left
    holding nothing but Hydra's own files is removed (remove_unused_run_dir).
    """

    @functools.wraps(task)
    def wrapper(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except (SegError, OmegaConfBaseException) as exc:
            message = _config_message(exc) if isinstance(exc, OmegaConfBaseException) else one_line(exc)
            log_to_files(logging.ERROR, message)
            print(f"seg: error: {message}", file=sys.stderr)
            remove_unused_run_dir(OmegaConf.select(cfg, "output_root", default=None))
            sys.exit(1)
        except KeyboardInterrupt:
            print("seg: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper


def log_to_files(level: int, message: str) -> None:
    """Write `message` to the run's log file only: Hydra's job logging also echoes records to the console,
    where the message is already printed once (`seg: ...` on stderr)."""
    record = log.makeRecord(log.name, level, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and record.levelno >= handler.level:
            handler.handle(record)


def remove_unused_run_dir(output_root: str | None) -> None:
    """Remove this job's run dir when it holds only what Hydra wrote before the task ran (`.hydra/` and the
    job's log): a command stopped by a mistake leaves no empty run behind. Kept: a dir named on the command
    line (`hydra.run.dir=` / `hydra.sweep.dir=`: it may be the user's), one holding any other file, and the
    working directory or one above it. Emptied date folders under `output_root`, and it when emptied, go too."""
    try:
        hydra_cfg = HydraConfig.get()
    except ValueError:  # not a Hydra job
        return
    given = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.hydra}
    if given & {"hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir"}:
        return
    out, subdir = Path(hydra_cfg.runtime.output_dir).resolve(), hydra_cfg.output_subdir
    if not subdir or not (out / subdir).is_dir() or out in (Path.cwd(), *Path.cwd().parents):
        return  # Hydra wrote no .hydra/ there (e.g. `seg info` runs in `.`)
    if any(entry.name not in {subdir, f"{hydra_cfg.job.name}.log"} for entry in out.iterdir()):
        return
    shutil.rmtree(out, ignore_errors=True)
    root = Path(output_root).resolve() if output_root else None
    parent = out.parent
    while root is not None and (root in parent.parents or parent == root != Path.cwd()):  # up to output_root
        try:
            parent.rmdir()  # only when empty: another run may be in it
        except OSError:
            break
        parent = parent.parent


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
    own run dir comes first: a requeued cluster job comes back to it; a sweep job looks nowhere else
    (another job's checkpoint was trained with other values)."""
    from seg_cli.checkpoint import find_newest

    if given and not (resuming and given == "auto"):
        path = Path(given)
        if not path.is_file():
            raise CheckpointError(f"{key}={given}: file not found")
        return path
    if resuming:
        own = run_dir() / "checkpoints" / name
        if own.is_file():
            return own
        if in_sweep():
            return None
    return find_newest(search_roots(output_root), name)


def in_sweep() -> bool:
    """Whether this is one job of a multirun (`-m`)."""
    return HydraConfig.get().mode == RunMode.MULTIRUN


def trained_model(cfg: DictConfig, device_name: str, dataset_required: bool = False
                  ) -> tuple[Any, dict[str, Any], Path, Any]:
    """(model, run config, weights path, device) for eval, predict and export.

    `ckpt=PATH`: the seg checkpoint, with this command's `model.*` / `dataset.*` overrides on top of its
    config. Without one, `model=NAME` with `model.pretrained=true` (torchvision's published weights) or
    `model.weights=PATH` (any state dict or checkpoint): model and classes from this command's config
    (`dataset_required`: a `dataset=` must be chosen; else it defaults to the weights' label set). With none
    of these, the newest best.pt under output_root.
    """
    from seg_cli.engine.trained import load_configured_model, load_trained_model

    chosen_model = "_target_" in cfg.model
    if not cfg.ckpt and weights_in_config(cfg.model):
        if cfg.model.get("pretrained") is True and cfg.model.get("weights"):
            raise ConfigError("model.pretrained=true and model.weights=PATH both given: choose one")
        if cfg.model.get("weights") and not chosen_model:
            raise ConfigError("model.weights=PATH without ckpt= needs the architecture: add model=NAME")
        return load_configured_model(configured_sections(cfg, dataset_required), device_name)
    if chosen_model:
        hint = "ckpt=PATH rebuilds the model it holds (model.KEY=VALUE still applies)" if cfg.ckpt else \
            "add model.pretrained=true (torchvision's published weights), model.weights=PATH or ckpt=PATH"
        raise ConfigError(f"model=NAME chooses an architecture, not its weights: {hint}")
    path = find_checkpoint("ckpt", cfg.ckpt, cfg.output_root, "best.pt")
    if path is None:
        where = " and ".join(str(r) for r in search_roots(cfg.output_root))
        raise CheckpointError(f"no checkpoints/best.pt found under {where}; run `seg train` first, pass ckpt=PATH, "
                              "or use a published model: model=NAME model.pretrained=true")
    overrides = {"model": to_plain(cfg.model), "dataset": to_plain(cfg.dataset)}
    model, config, device = load_trained_model(path, overrides, device_name)
    return model, config, path, device


def configured_sections(cfg: DictConfig, dataset_required: bool) -> dict[str, Any]:
    """This command's `model` and `dataset` resolved together (the model's `${dataset.num_classes}` needs the
    dataset); without a `dataset=` choice, the dataset keys given go on top of the weights' label set."""
    from seg_cli.models.published import default_label_set

    model = OmegaConf.to_container(cfg.model, resolve=False)
    dataset = OmegaConf.to_container(cfg.dataset, resolve=False)
    if "_target_" not in dataset:
        if dataset_required:
            raise ConfigError("without ckpt=, choose the data to evaluate on: add dataset=NAME dataset.root=... "
                              "(dataset=voc for the published weights)")
        defaults = default_label_set(model)
        if dataset.get("num_classes", defaults["num_classes"]) != defaults["num_classes"]:
            defaults["class_names"] = None  # the weights' names fit their own class count only
        dataset = {**defaults, **dataset}
    sections = OmegaConf.create({"model": model, "dataset": dataset})
    # predict reads no files of the dataset, so a `dataset=voc` without its root is fine there.
    return OmegaConf.to_container(sections, resolve=True, throw_on_missing=dataset_required)


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
