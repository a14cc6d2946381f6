"""Typed schemas of every command's primary config, registered in Hydra's ConfigStore.

Defaults live in the YAML files (configs/*.yaml); the schema gives every key a type, so a wrong
type or an unknown key fails at composition with the key's full name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class EarlyStoppingSchema:
    patience: int = MISSING
    min_delta: float = MISSING


@dataclass
class EmaSchema:
    decay: float | None = MISSING


@dataclass
class TrainLoopSchema:
    epochs: int = MISSING
    max_steps: int | None = MISSING
    batch_size: int = MISSING
    workers: Any = MISSING  # int >= 0 or "auto"
    device: str = MISSING
    amp: bool = MISSING
    amp_dtype: str = MISSING
    eval_every: int = MISSING
    eval_every_steps: int = MISSING
    early_stopping: EarlyStoppingSchema = field(default_factory=EarlyStoppingSchema)
    freeze: Any = MISSING  # one module-name prefix or a list of them
    freeze_epochs: int | None = MISSING
    backbone_lr_mult: float = MISSING
    ema: EmaSchema = field(default_factory=EmaSchema)
    resume: str | None = MISSING
    clip_grad_norm: float | None = MISSING
    accumulate_steps: int = MISSING
    checkpoint_every: int = MISSING
    skip_nonfinite: bool = MISSING
    sync_bn: str = MISSING
    aux_loss_weight: float = MISSING
    aux_lr_mult: float = MISSING
    norm_bias_weight_decay: float | None = MISSING
    best_metric: str = MISSING
    log_every: int = MISSING
    tb_images: int = MISSING
    progress: str = MISSING
    deterministic: bool = MISSING
    compile: bool = MISSING
    channels_last: bool = MISSING


@dataclass
class DataSchema:
    on_error: str = MISSING
    cache_mib: float = MISSING


@dataclass
class EvalSchema:
    batch_size: int = MISSING
    resolution: str = MISSING
    pad_multiple: int = MISSING
    metrics: Any = MISSING  # one name or a list of seg_cli.choices.EVAL_METRICS
    worst: int = MISSING
    plots: bool = MISSING


@dataclass
class TrainEvalSchema(EvalSchema):
    cache_mib: float = MISSING
    sod_normalize: str = MISSING


@dataclass
class EvaluateEvalSchema(EvalSchema):
    sod_normalize: str | None = MISSING  # null = the checkpoint's own


@dataclass
class TrainSchema:
    seed: int = MISSING
    output_root: str = MISSING
    train: TrainLoopSchema = field(default_factory=TrainLoopSchema)
    data: DataSchema = field(default_factory=DataSchema)
    eval: TrainEvalSchema = field(default_factory=TrainEvalSchema)
    model: Any = MISSING
    dataset: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    loss: Any = MISSING
    augment: Any = MISSING  # {steps: [...]} (configs/augment/*.yaml)


@dataclass
class CheckpointCommandSchema:
    """What the commands that start from a trained checkpoint share (eval, predict, export)."""

    ckpt: str | None = MISSING
    output_root: str = MISSING
    # Partial overrides of the checkpoint's own config, e.g. `dataset.root=/data` (added by the dispatcher).
    model: Any = field(default_factory=dict)
    dataset: Any = field(default_factory=dict)


@dataclass
class InferSchema:
    mode: str = MISSING
    crop: Any = MISSING  # int (square) or [height, width]
    stride: Any = MISSING  # int (square) or [height, width]
    flip: bool = MISSING
    scales: Any = MISSING  # float or a list of floats
    stitch_device: str | None = MISSING


@dataclass
class EvaluateSchema(CheckpointCommandSchema):
    device: str = MISSING
    split: str = MISSING
    workers: Any = MISSING  # int >= 0 or "auto"
    channels_last: bool = MISSING
    eval: EvaluateEvalSchema = field(default_factory=EvaluateEvalSchema)
    infer: InferSchema = field(default_factory=InferSchema)


@dataclass
class PredictOptionsSchema:
    alpha_bits: int = MISSING
    background: Any = MISSING  # a colour name, [r, g, b], or an image or video path
    foreground: str = MISSING
    batch_size: int = MISSING
    every_n_frames: int = MISSING
    max_frames: int | None = MISSING
    frames: bool = MISSING
    alpha_video: str | None = MISSING


@dataclass
class PredictSchema(CheckpointCommandSchema):
    inputs: list[str] = field(default_factory=list)
    out: str | None = MISSING
    device: str = MISSING
    overlay_alpha: float = MISSING
    max_pixels: int = MISSING
    save: Any = MISSING  # null, one name or a list of names
    backend: str = MISSING
    model_file: str | None = MISSING
    threshold: Any = MISSING  # "auto" or a number in [0, 1]
    infer: InferSchema = field(default_factory=InferSchema)
    predict: PredictOptionsSchema = field(default_factory=PredictOptionsSchema)


@dataclass
class ExportSchema(CheckpointCommandSchema):
    format: str = MISSING
    out: str | None = MISSING
    opset: int | None = MISSING
    onnx_exporter: str = MISSING
    height: int | None = MISSING
    width: int | None = MISSING
    batch_size: int = MISSING
    tolerance: float = MISSING


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
    seed: int = MISSING
    augment: Any = None  # show: null = samples as read; augment=NAME = through that training pipeline


@dataclass
class ReportSchema:
    inputs: list[str] = field(default_factory=list)
    out: str | None = MISSING


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainSchema)
    store.store(name="eval_schema", node=EvaluateSchema)
    store.store(name="predict_schema", node=PredictSchema)
    store.store(name="export_schema", node=ExportSchema)
    store.store(name="info_schema", node=InfoSchema)
    store.store(name="data_tools_schema", node=DataToolsSchema)
    store.store(name="report_schema", node=ReportSchema)
