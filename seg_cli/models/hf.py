"""Hugging Face transformers: any semantic-segmentation model (`AutoModelForSemanticSegmentation`: SegFormer,
UperNet, DPT, BEiT, Data2Vec-Vision, MobileViT, ...) and Mask2Former (its adapter: seg_cli.models.hf_mask2former) by
hub id, local folder or model type, brought to the contract.

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
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models import hf_hub, hf_mask2former
from seg_cli.models.contract import AUX, ContractAdapter, ModelSpec, to_contract

log = logging.getLogger(__name__)

# The backbone attribute of each transformers architecture (spec_of keeps the one a model has), under the
# adapter's `model.`; the auxiliary FCN head of UperNet, BEiT, Data2Vec-Vision and DPT; `pretrained` downloads.
ENCODERS = ("segformer", "backbone", "dpt", "beit", "data2vec_vision", "mobilevit", "mobilevitv2", "mobilenet_v2")
# Unused parameters: layers a config leaves out of the forward (DPT's last norm, BEiT layers after the last out
# index, MobileNetV2's classifier conv).
SPEC = ModelSpec(encoder=tuple(f"model.{name}" for name in ENCODERS), aux_heads=("model.auxiliary_head",),
                 download_keys=("pretrained",), unused_parameters=True)
OWN_KEYS = {"num_labels": "model.num_classes (set by the dataset)", "id2label": "model.num_classes",
            "label2id": "model.num_classes", "num_channels": "model.in_channels (set by the dataset)"}


def hf(num_classes: int, in_channels: int = 3, name: str = "segformer", pretrained: bool = False,
       options: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None) -> ContractAdapter:
    """The transformers semantic-segmentation model `name` (hub id, local folder or model type) with
    `num_classes` outputs; `pretrained` loads its weights (a head of another size re-initialised), otherwise
    random weights from its config; `options` set attributes of that config (hidden_dropout_prob, ...).
    `config`, the model's transformers config as a dict, is what seg stores in checkpoints (HfAdapter.rebuild_keys):
    given, the architecture is built from it, with neither the hub nor the folder."""
    import transformers

    hf_config = _from_dict(transformers, config) if config else _config(transformers, str(name), pretrained)
    _set_options(hf_config, dict(options or {}))
    published_classes = hf_config.num_labels
    hf_config.num_labels = num_classes  # also resets id2label / label2id to num_classes entries
    _set_in_channels(hf_config, in_channels)
    auto, adapter = builders(transformers, hf_config)
    if not pretrained:
        return adapter(auto.from_config(hf_config), str(name))
    model, info = _load_weights(transformers, auto, str(name), hf_config)
    mismatched = sorted({key.rsplit(".", 1)[0] for key, *_ in info.get("mismatched_keys", [])})
    if mismatched:
        log.info("model.name=%s: %d classes in the checkpoint, num_classes=%d, in_channels=%d: re-initialised %s",
                 name, published_classes, num_classes, in_channels, ", ".join(mismatched))
    if info.get("missing_keys"):
        log.warning("model.name=%s: %d weights not in the checkpoint, left random: %s", name,
                    len(info["missing_keys"]), ", ".join(sorted(info["missing_keys"])[:5]))
    return adapter(model, str(name))


def builders(transformers: Any, config: Any) -> tuple[Any, type[ContractAdapter]]:
    """The transformers auto class that builds `config`'s model and the adapter that brings it to the contract:
    Mask2Former's own (seg_cli.models.hf_mask2former), else HfAdapter."""
    if config.model_type in hf_mask2former.MODEL_TYPES:
        return hf_mask2former.model_class(transformers), hf_mask2former.Mask2FormerAdapter
    return transformers.AutoModelForSemanticSegmentation, HfAdapter


def _load_weights(transformers: Any, auto: Any, name: str, config: Any) -> tuple[nn.Module, dict[str, Any]]:
    """(model, loading info) with the weights of `name`: the folder or the cache, then the hub when it answers."""
    source = str(Path(name).expanduser()) if hf_hub.is_folder(name) else name
    attempts = (True,) if hf_hub.local_only(name) else (True, False)
    for local in attempts:
        try:
            with _quiet(transformers, downloading=not local):  # seg logs what matters, in one line each
                return auto.from_pretrained(source, config=config, ignore_mismatched_sizes=True,
                                            output_loading_info=True, local_files_only=local)
        except OSError as exc:  # not cached yet (then fetched), or a config saved without its weights
            error = exc
    if not hf_hub.is_folder(name) and len(attempts) == 1:
        raise hf_hub.not_cached(name, "'s weights")
    raise ConfigError(f"model.name={name}: no weights found: {hf_hub.first_line(error)}") from None


class HfAdapter(hf_hub.HubModel, ContractAdapter):
    """A transformers model under the contract; the auxiliary head's logits, caught by a forward hook (the
    model keeps them for its own loss only), become "aux" while the head exists (export sets it to None).

    Position embeddings are interpolated to the input size where the model's forward offers it (BEiT,
    Data2Vec-Vision). DPT's segmentation head reshapes ViT tokens to a square grid,
    so its input is zero-padded (bottom, right) to a square of whole patches and the logits cropped back.
    Data2Vec-Vision's head reshapes them to its config's image_size: its input is resized to that (as its image
    processor does), the logits back to the input size."""

    def __init__(self, model: nn.Module, name: str = "") -> None:
        ContractAdapter.__init__(self, model, SPEC)
        self.name = name
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
def _quiet(transformers: Any, downloading: bool = False) -> Iterator[None]:
    """transformers' load report (a multi-line table) off, and its loading bar unless files are downloaded to a
    terminal (a first download of a large checkpoint takes minutes: the hub's bars show it); restored after."""
    hf_logging = transformers.utils.logging
    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    if not (downloading and sys.stderr.isatty()):
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _set_options(config: Any, options: dict[str, Any], prefix: str = "model.options.") -> None:
    """Set `options` on the config; a mapping given for a nested config (`backbone_config`) sets its attributes."""
    known = sorted(config.to_dict())
    for key, value in options.items():
        if key in OWN_KEYS:
            raise ConfigError(f"{prefix}{key} is set by {OWN_KEYS[key]}")
        if not hasattr(config, key):
            matches = difflib.get_close_matches(key, known, n=5)
            close = f"; close: {', '.join(matches)}" if matches else ""
            raise ConfigError(f"{prefix}{key} is not a key of the {config.model_type} config{close}")
        nested = getattr(config, key)
        if isinstance(value, Mapping) and hasattr(nested, "to_dict"):
            _set_options(nested, dict(value), f"{prefix}{key}.")
        else:
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


def _from_dict(transformers: Any, config: Mapping[str, Any]) -> Any:
    """A transformers config from the dict a checkpoint stores."""
    values = dict(config)
    model_type = values.pop("model_type", None)
    if model_type not in transformers.CONFIG_MAPPING:
        raise ConfigError(f"model.config holds model_type={model_type!r}, which this transformers "
                          f"({transformers.__version__}) does not know: upgrade transformers")
    return transformers.CONFIG_MAPPING[model_type].from_dict(values)


def _config(transformers: Any, name: str, pretrained: bool) -> Any:
    """The transformers config of `name`, checked to be a semantic-segmentation model's."""
    mapping = transformers.MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING
    types = sorted({config_class.model_type for config_class in mapping.keys()} | set(hf_mask2former.MODEL_TYPES))
    if hf_hub.is_model_type(transformers, name):  # a model type: default config
        if pretrained:
            raise ConfigError(f"model.name={name} is a model type, which has no weights: pretrained=true needs "
                              f"a hub id or a local folder")
        config = transformers.AutoConfig.for_model(name)
    else:
        config = hf_hub.load_config(transformers, name)
    if type(config) not in mapping and config.model_type not in hf_mask2former.MODEL_TYPES:
        raise ConfigError(f"model.name={name} is a {config.model_type} model, not a semantic-segmentation one; "
                          f"these are: {', '.join(types)}")
    return config
