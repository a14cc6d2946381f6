"""The transforms a dataset config asks for: its sizes, flip and scale range, resize mode and the
normalisation of its `in_channels`. Read by every dataset (seg_cli.data.base) and by build_dataset."""

from __future__ import annotations

from typing import Any

from seg_cli.choices import RESIZE_MODES
from seg_cli.data.augment import AugmentPipeline, build_augment
from seg_cli.data.targets import CLASS_TARGET, Target
from seg_cli.data.transforms import SegmentationPresetEval, SegmentationPresetTrain, default_normalization
from seg_cli.errors import ConfigError
from seg_cli.values import as_list, scale_range, size_pair


def build_train_transform(cfg: dict[str, Any], augment: dict[str, Any] | None = None,
                          target: Target = CLASS_TARGET) -> SegmentationPresetTrain | AugmentPipeline:
    """The training transform: the `augment.steps` pipeline, its steps taking the sizes, scale range, flip
    probability, resize mode and ignore index they leave out from the dataset config `cfg`.

    augment=None is SegmentationPresetTrain from those dataset keys: what augment=default spells out step by
    step (tests/data/test_augment.py checks they agree exactly), and what a checkpoint saved before the
    `augment` group existed trained with. `target` is the task's kind of mask (seg_cli.data.targets).
    """
    mean, std = normalization(cfg)
    values = dict(base_size=cfg["base_size"], crop_size=size_pair("dataset.crop_size", cfg["crop_size"]),
                  hflip_prob=cfg.get("hflip_prob", 0.5), ignore_index=cfg.get("ignore_index", 255),
                  scale_range=scale_range("dataset.scale_range", cfg.get("scale_range", (0.5, 2.0))),
                  resize=resize_mode(cfg))
    if not (isinstance(values["hflip_prob"], (int, float)) and 0 <= values["hflip_prob"] <= 1):
        raise ConfigError(f"dataset.hflip_prob={values['hflip_prob']!r} is not allowed; give a probability in [0, 1]")
    if augment is None:
        return SegmentationPresetTrain(**values, mean=mean, std=std, target=target)
    return build_augment(augment, {**values, "in_channels": image_channels(cfg)}, mean, std, target)


def build_eval_transform(cfg: dict[str, Any], resize_mask: bool = False, target: Target = CLASS_TARGET
                         ) -> SegmentationPresetEval:
    """The eval/predict transform a dataset config asks for (base_size, the optional resize mode, and the
    normalisation of its in_channels)."""
    mean, std = normalization(cfg)
    return SegmentationPresetEval(base_size=cfg["base_size"], resize_mask=resize_mask, mean=mean, std=std,
                                  resize=resize_mode(cfg), target=target)


def image_channels(cfg: dict[str, Any]) -> int:
    """`dataset.in_channels`: the channels every image is read with and the model takes (default 3, RGB)."""
    channels = cfg.get("in_channels", 3)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ConfigError(f"dataset.in_channels={channels!r} must be a whole number >= 1 (1 grey, 3 RGB, N bands)")
    return channels


def normalization(cfg: dict[str, Any]) -> tuple[list[float], list[float]]:
    """(`dataset.mean`, `dataset.std`): one value per channel on the [0, 1] scale, or by default_normalization
    where null (ImageNet's for RGB)."""
    channels = image_channels(cfg)
    default_mean, default_std = default_normalization(channels)
    values = {}
    for key, default in (("mean", default_mean), ("std", default_std)):
        given = cfg.get(key)
        value = [float(v) for v in (default if given is None else as_list(f"dataset.{key}", given, float))]
        if len(value) != channels:
            raise ConfigError(f"dataset.{key} has {len(value)} value(s) but dataset.in_channels={channels}: give one "
                              "per channel (`seg data stats` computes them)")
        values[key] = value
    if not all(s > 0 for s in values["std"]):
        raise ConfigError(f"dataset.std={values['std']} must be > 0 in every channel")
    return values["mean"], values["std"]


def resize_mode(cfg: dict[str, Any]) -> str:
    """`dataset.resize`: "shorter" (the default, aspect ratio kept) or "square"."""
    mode = cfg.get("resize", "shorter")
    if mode not in RESIZE_MODES:
        raise ConfigError(f"dataset.resize={mode!r} is not allowed; choose from: {', '.join(RESIZE_MODES)}")
    return mode
