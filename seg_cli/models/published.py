"""Published whole-network weights, for `seg eval` / `seg predict` without a checkpoint and for
`seg train model.pretrained=true`: one provider interface, asked by the loaders, the dispatcher's prefetch
and the commands. torchvision's COCO-with-VOC-labels weights are the first provider
(seg_cli.models.torchvision_weights); another source (a model hub) is one module with the same methods,
listed in PROVIDERS.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import torch

from seg_cli.errors import ConfigError
from seg_cli.legacy import current_target
from seg_cli.models.hf_weights import HubWeights
from seg_cli.models.torchvision_weights import TorchvisionWeights


class WeightsProvider(Protocol):
    """A source of published weights; `weights` is its own handle for one set (torchvision: a WeightsEnum)."""

    def weights(self, model_cfg: dict[str, Any]) -> Any | None:
        """The published weights a model config names (its builder's `_target_`, moved ones followed, and its
        keys, such as a hub id); None when it names none of this provider's."""

    def builders(self) -> list[str]:
        """Names of the builders with published weights (for messages)."""

    def owns(self, weights: Any) -> bool:
        """Whether `weights` is one of this provider's handles."""

    def default_weights(self) -> Any:
        """The weights whose label set `seg predict` assumes for a model without its own."""

    def cache_path(self, weights: Any) -> Path:
        """The local file or folder the weights are read from (downloaded there when missing)."""

    def is_cached(self, weights: Any) -> bool:
        """Whether the weights are there to read with no request."""

    def download(self, weights: Any) -> None:
        """Put the weights into the cache (nothing else): the dispatcher's pre-download."""

    def fetch_state_dict(self, weights: Any, progress: bool | None = None) -> dict[str, torch.Tensor]:
        """The state dict, from the cache or downloaded; CheckpointError (one line) when neither works."""

    def label_set(self, weights: Any) -> dict[str, Any]:
        """A dataset config of the weights' own label set (classes, input size, normalisation)."""

    def check_label_set(self, weights: Any, dataset: dict[str, Any]) -> None:
        """ConfigError when `dataset` is not what the weights predict."""

    def metrics(self, weights: Any) -> dict[str, Any] | None:
        """The figures the publisher measured, as fractions like seg's own metrics (None if none)."""


PROVIDERS: tuple[WeightsProvider, ...] = (TorchvisionWeights(), HubWeights())


def _provider(weights: Any) -> WeightsProvider:
    return next(p for p in PROVIDERS if p.owns(weights))


def _config_weights(model_cfg: dict[str, Any]) -> Any | None:
    target = current_target(str(model_cfg.get("_target_", "")), {})[0]  # a moved builder keeps its weights
    model_cfg = {**model_cfg, "_target_": target}
    return next((w for w in (p.weights(model_cfg) for p in PROVIDERS) if w is not None), None)


def weights_of(model_cfg: dict[str, Any]) -> Any:
    """The published weights of the builder a model config names; ConfigError for a model without any."""
    target = str(model_cfg.get("_target_", ""))
    weights = _config_weights(model_cfg)
    if weights is None:
        name = target.rpartition(".")[2]
        chosen = f"model={name}" if name else "no model= choice"
        names = ", ".join(name for p in PROVIDERS for name in p.builders())
        raise ConfigError(f"model.pretrained=true with {chosen}: published weights exist for {names}; "
                          "add model=NAME with one of them, or give ckpt=PATH / model.weights=PATH")
    return weights


def cache_path(weights: Any) -> Path:
    return _provider(weights).cache_path(weights)


def is_cached(weights: Any) -> bool:
    return _provider(weights).is_cached(weights)


def fetch_state_dict(weights: Any, progress: bool | None = None) -> dict[str, torch.Tensor]:
    """The weights' state dict (no network when cached); CheckpointError (one line) when unavailable."""
    return _provider(weights).fetch_state_dict(weights, progress)


def label_set(weights: Any) -> dict[str, Any]:
    return _provider(weights).label_set(weights)


def default_label_set(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """The label set `seg predict` assumes without a dataset: that of the model's published weights, else
    the first provider's default (torchvision's COCO-with-VOC-labels set)."""
    own = _config_weights(model_cfg)
    return label_set(own if own is not None else PROVIDERS[0].default_weights())


def check_label_set(weights: Any, dataset: dict[str, Any]) -> None:
    _provider(weights).check_label_set(weights, dataset)


def published_metrics(weights: Any) -> dict[str, Any] | None:
    """What the publisher measured for the weights (None if it says nothing)."""
    return _provider(weights).metrics(weights)


def format_published(metrics: dict[str, Any]) -> str:
    """Measured mIoU and pixel accuracy beside the published ones (empty when the weights publish none)."""
    published = metrics.get("published")
    if not published:
        return ""

    def pct(value: float | None) -> str:
        return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"

    lines = [f"{'':<10}  {'measured':>9}  {'published':>9}"]
    for key, label in (("pixel_acc", "pixel acc"), ("miou", "mIoU")):
        lines.append(f"{label:<10}  {pct(metrics.get(key)):>9}  {pct(published.get(key)):>9}")
    protocol = published.get("protocol") or (f"measured at the resized resolution, shorter side "
                                              f"{published['base_size']} (eval.resolution=resized, "
                                              f"dataset.base_size={published['base_size']})")
    lines.append(f"published: {published['source']}, {protocol}")
    return "\n".join(lines)


def ensure_cached(option: str, keys: dict[str, str] | None = None) -> None:
    """Download the published weights of the model option `option` (configs/model/OPTION.yaml, its `defaults`
    followed, with the command line's model `keys` on top) into the provider's cache unless they are there
    (no-op for an option without published weights: the command then says what is wrong)."""
    model_cfg = {**option_config(option), **(keys or {})}
    weights = _config_weights(model_cfg) if model_cfg.get("_target_") else None
    if weights is not None and not is_cached(weights):
        _provider(weights).download(weights)


def option_config(option: str) -> dict[str, Any]:
    """The plain keys of configs/model/OPTION.yaml over those of the options its `defaults` list names (a
    named hub model on top of hf.yaml); {} when there is no such option. Read without Hydra: the
    dispatcher calls this before the job starts."""
    import yaml

    from seg_cli.paths import config_dir

    path = Path(config_dir()) / "model" / f"{option}.yaml"
    if not option or not path.is_file():
        return {}
    own = yaml.safe_load(path.read_text()) or {}
    merged: dict[str, Any] = {}
    for base in own.pop("defaults", []):
        if isinstance(base, str) and base != "_self_":
            merged.update(option_config(base))
    return {**merged, **own}
