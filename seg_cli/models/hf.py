"""Hugging Face transformers: any semantic-segmentation model (`AutoModelForSemanticSegmentation`: SegFormer,
UperNet, DPT, BEiT, Data2Vec-Vision, MobileViT, ...) by hub id, local folder or model type, brought to the contract.

`model.name` is a hub id (`nvidia/segformer-b0-finetuned-ade-512-512`), a folder written by `save_pretrained`,
or a transformers model type (`segformer`, `upernet`, ...), which builds that architecture from transformers'
default config with random weights: nothing to download, so it is the offline default. The models return
`.logits` at a fraction of the input size; `HfAdapter` resizes them (to_contract) and returns the logits of an
auxiliary head (UperNet's, BEiT's), which transformers computes but returns only inside its own loss, as "aux".

transformers is imported inside the builder: `seg --help`, and reading SPEC to rebuild a checkpoint, do not pay
for it.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.contract import AUX, ContractAdapter, ModelSpec, to_contract

log = logging.getLogger(__name__)

# The backbone attribute of each transformers architecture (spec_of keeps the one a model has), under the
# adapter's `model.`; the auxiliary FCN head of UperNet, BEiT, Data2Vec-Vision and DPT; `pretrained` downloads.
ENCODERS = ("segformer", "backbone", "dpt", "beit", "data2vec_vision", "mobilevit", "mobilevitv2", "mobilenet_v2")
SPEC = ModelSpec(encoder=tuple(f"model.{name}" for name in ENCODERS), aux_heads=("model.auxiliary_head",),
                 download_keys=("pretrained",))
OWN_KEYS = {"num_labels": "model.num_classes (set by the dataset)", "id2label": "model.num_classes",
            "label2id": "model.num_classes", "num_channels": "model.in_channels (set by the dataset)"}


def hf(num_classes: int, in_channels: int = 3, name: str = "segformer", pretrained: bool = False,
       options: Mapping[str, Any] | None = None) -> HfAdapter:
    """The transformers semantic-segmentation model `name` (hub id, local folder or model type) with
    `num_classes` outputs; `pretrained` loads its weights (a head of another size re-initialised), otherwise
    random weights from its config; `options` set attributes of that config (hidden_dropout_prob, ...)."""
    import transformers

    config = _config(transformers, str(name), pretrained)
    _set_options(config, dict(options or {}))
    published_classes = config.num_labels
    config.num_labels = num_classes  # also resets id2label / label2id to num_classes entries
    _set_in_channels(config, in_channels)
    auto = transformers.AutoModelForSemanticSegmentation
    if not pretrained:
        return HfAdapter(auto.from_config(config))
    try:
        with _quiet(transformers):  # seg logs what matters below, in one line each
            model, info = auto.from_pretrained(name, config=config, ignore_mismatched_sizes=True,
                                               output_loading_info=True, local_files_only=_offline())
    except OSError as exc:  # a config cached or saved without its weights
        where = "HF_HUB_OFFLINE is set" if _offline() else "they could not be fetched"
        raise ConfigError(f"model.name={name}: no weights found ({where}): {_first_line(exc)}") from None
    mismatched = sorted({key.rsplit(".", 1)[0] for key, *_ in info.get("mismatched_keys", [])})
    if mismatched:
        log.info("model.name=%s: %d classes in the checkpoint, num_classes=%d, in_channels=%d: re-initialised %s",
                 name, published_classes, num_classes, in_channels, ", ".join(mismatched))
    if info.get("missing_keys"):
        log.warning("model.name=%s: %d weights not in the checkpoint, left random: %s", name,
                    len(info["missing_keys"]), ", ".join(sorted(info["missing_keys"])[:5]))
    return HfAdapter(model)


class HfAdapter(ContractAdapter):
    """A transformers model under the contract; the auxiliary head's logits, caught by a forward hook (the
    model keeps them for its own loss only), become "aux" while the head exists (export sets it to None).

    Position embeddings are interpolated to the input size where the model's forward offers it (BEiT,
    Data2Vec-Vision). DPT's segmentation head reshapes ViT tokens to a square grid,
    so its input is zero-padded (bottom, right) to a square of whole patches and the logits cropped back.
    Data2Vec-Vision's head reshapes them to its config's image_size: its input is resized to that (as its image
    processor does), the logits back to the input size."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, SPEC)
        self._aux: list[torch.Tensor] = []
        head = getattr(model, "auxiliary_head", None)
        if head is not None:
            head.register_forward_hook(lambda module, args, output: self._aux.append(output))
        takes = inspect.signature(model.forward).parameters
        self.kwargs = {"interpolate_pos_encoding": True} if "interpolate_pos_encoding" in takes else {}
        self.square_patch = _square_patch(model.config)  # plain ints: the state_dict keeps only `model.`
        self.fixed_size = int(model.config.image_size) if model.config.model_type == "data2vec-vision" else 0
        # For export (contract.size_bound): Data2Vec's pooling sees one size whatever the input; DPT's square grid
        # of patches is exported for the export size (measured: wrong or failing at others); others: the pooling.
        self.size_bound = False if self.fixed_size else (True if self.square_patch else None)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self._aux.clear()
        height, width = images.shape[-2:]
        if self.square_patch:
            side = -(-max(height, width) // self.square_patch) * self.square_patch
            images = F.pad(images, (0, side - width, 0, side - height))
        if self.fixed_size:
            images = F.interpolate(images, size=(self.fixed_size,) * 2, mode="bilinear", align_corners=False)
        size = (height, width) if self.fixed_size else images.shape[-2:]
        outputs = to_contract(self.model(pixel_values=images, **self.kwargs), size)
        if self._aux and getattr(self.model, "auxiliary_head", None) is not None:
            outputs[AUX] = to_contract(self._aux[-1], size)["out"]
        self._aux.clear()  # no tensor outlives the step
        return {name: value[..., :height, :width] for name, value in outputs.items()}


def _square_patch(config: Any) -> int:
    """The ViT patch size of a DPT model whose head needs a square grid of patches (0 for any other model)."""
    if config.model_type != "dpt" or getattr(config, "is_hybrid", False):
        return 0
    backbone = getattr(config, "backbone_config", None)
    return int(getattr(backbone, "patch_size", None) or config.patch_size)


@contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """transformers' load report (a multi-line table) and progress bar off, restored after."""
    hf_logging = transformers.utils.logging
    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _config(transformers: Any, name: str, pretrained: bool) -> Any:
    """The transformers config of `name`, checked to be a semantic-segmentation model's."""
    mapping = transformers.MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING
    types = sorted(config_class.model_type for config_class in mapping.keys())
    if name in transformers.CONFIG_MAPPING and not Path(name).exists():  # a model type: default config
        if pretrained:
            raise ConfigError(f"model.name={name} is a model type, which has no weights: pretrained=true needs "
                              f"a hub id or a local folder")
        config = transformers.AutoConfig.for_model(name)
    else:
        config = _load_config(transformers, name)
    if type(config) not in mapping:
        raise ConfigError(f"model.name={name} is a {config.model_type} model, not a semantic-segmentation one; "
                          f"these are: {', '.join(types)}")
    return config


def _load_config(transformers: Any, name: str) -> Any:
    path = Path(name).expanduser()
    if name.startswith((".", "/", "~")) or path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"model.name={name}: no folder with a config.json (one written by save_pretrained)")
        return transformers.AutoConfig.from_pretrained(str(path))
    offline = _offline()
    try:  # the cache first: a cached id builds with no request (and no retries when the network is down)
        return transformers.AutoConfig.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError):
        pass
    try:
        return transformers.AutoConfig.from_pretrained(name, local_files_only=offline)
    except (OSError, ValueError) as exc:
        if offline:
            raise ConfigError(f"model.name={name} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: "
                              f"run once online or give a local folder") from None
        if _unreachable(exc):
            raise ConfigError(f"model.name={name} is not in the Hugging Face cache and the network is "
                              f"unreachable: run once online or give a local folder") from None
        raise ConfigError(f"model.name={name}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _unreachable(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__} {exc.__context__}".lower()
    return any(word in text for word in ("connect", "offline", "resolve", "timed out", "network"))


def _set_options(config: Any, options: dict[str, Any]) -> None:
    known = sorted(config.to_dict())
    for key, value in options.items():
        if key in OWN_KEYS:
            raise ConfigError(f"model.options.{key} is set by {OWN_KEYS[key]}")
        if not hasattr(config, key):
            matches = difflib.get_close_matches(key, known, n=5)
            close = f"; close: {', '.join(matches)}" if matches else ""
            raise ConfigError(f"model.options.{key} is not a key of the {config.model_type} config{close}")
        setattr(config, key, value)


def _set_in_channels(config: Any, in_channels: int) -> None:
    """`num_channels` of the config, or of its backbone's config (UperNet); a model with neither takes 3."""
    for target in (config, getattr(config, "backbone_config", None)):
        if target is not None and hasattr(target, "num_channels"):
            target.num_channels = in_channels
            return
    if in_channels != 3:
        raise ConfigError(f"dataset.in_channels={in_channels}: the {config.model_type} model has no num_channels "
                          f"to set, so it takes 3-channel images only")
