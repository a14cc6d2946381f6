"""Typed schemas of the tool commands (`seg export`, `seg info`, `seg data`), registered in Hydra's ConfigStore.

Kept apart from schema.py (the training-side commands); the rules are the same: defaults live in
the YAML files, the schema gives every key a type, so a wrong type or an unknown key fails at
composition with the key's full name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class ExportSchema:
    ckpt: str | None = MISSING
    format: str = MISSING
    out: str | None = MISSING
    opset: int | None = MISSING
    onnx_exporter: str = MISSING
    height: int | None = MISSING
    width: int | None = MISSING
    batch_size: int = MISSING
    tolerance: float = MISSING
    output_root: str = MISSING
    # Partial overrides of the checkpoint's own config, as in `seg eval`.
    model: Any = field(default_factory=dict)
    dataset: Any = field(default_factory=dict)


@dataclass
class InfoSchema:
    height: int = MISSING
    width: int = MISSING
    batch_size: int = MISSING
    model: Any = MISSING
    dataset: Any = MISSING


@dataclass
class DataToolsSchema:
    action: str | None = MISSING
    name: str | None = MISSING
    root: str = MISSING
    mirror: str | None = MISSING
    timeout: float = MISSING
    splits: Any = MISSING  # one split name or a list of them
    split: str = MISSING
    n: int = MISSING
    columns: int = MISSING
    cell_size: int = MISSING
    out: str | None = MISSING
    output_root: str = MISSING
    dataset: Any = MISSING


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="export_schema", node=ExportSchema)
    store.store(name="info_schema", node=InfoSchema)
    store.store(name="data_tools_schema", node=DataToolsSchema)
