"""Turn a dataset config (plain dict) into datasets and DataLoaders."""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from seg_cli.choices import RESIZE_MODES
from seg_cli.data.augment import AugmentPipeline, build_augment
from seg_cli.data.base import SegmentationDataset
from seg_cli.data.labels import LabelConvention
from seg_cli.data.samplers import ShapeBatchSampler, ShardSampler, TrainSampler
from seg_cli.data.transforms import SegmentationPresetEval, SegmentationPresetTrain, default_normalization
from seg_cli.errors import ConfigError
from seg_cli.utils import call_with_config, split_target
from seg_cli.values import as_list, scale_range, size_pair

# Keys of a dataset config that configure the transforms rather than the dataset class.
TRANSFORM_KEYS = ("base_size", "crop_size", "hflip_prob", "scale_range", "resize")
# Keys of the label convention every dataset follows (seg_cli.data.labels).
LABEL_KEYS = ("label_map", "reduce_zero_label", "palette", "void_colors")
# Keys of the image format every dataset follows: channels read (seg_cli.data.io) and their normalisation.
IMAGE_KEYS = ("in_channels", "mean", "std")


def build_dataset(cfg: dict[str, Any], split: str, train: bool, resize_mask: bool = False,
                  augment: dict[str, Any] | None = None) -> SegmentationDataset:
    """Instantiate the dataset class named by `_target_` with the transforms for `split`.

    `augment` is the `augment` config (configs/augment/*.yaml) of the training transform; see
    build_train_transform.
    """
    target, kwargs = split_target(cfg)
    t = {k: kwargs.pop(k) for k in TRANSFORM_KEYS if k in kwargs}
    labels = {k: kwargs.pop(k) for k in LABEL_KEYS if k in kwargs}
    image = {k: kwargs.pop(k) for k in IMAGE_KEYS if k in kwargs}
    if train:
        transforms = build_train_transform({**t, **image, "ignore_index": kwargs.get("ignore_index", 255)}, augment)
    else:
        transforms = build_eval_transform({**t, **image}, resize_mask)
    dataset = call_with_config(target, "dataset", split=split, transforms=transforms, **kwargs)
    dataset.labels = LabelConvention(**labels, ignore_index=dataset.ignore_index, label_count=dataset.label_count)
    dataset.in_channels = image_channels(image)
    return dataset


def build_train_transform(cfg: dict[str, Any], augment: dict[str, Any] | None = None
                          ) -> SegmentationPresetTrain | AugmentPipeline:
    """The training transform: the `augment.steps` pipeline, its steps taking the sizes, scale range, flip
    probability, resize mode and ignore index they leave out from the dataset config `cfg`.

    augment=None is SegmentationPresetTrain from those dataset keys: what augment=default spells out step by
    step (tests/data/test_augment.py checks they agree exactly), and what a checkpoint saved before the
    `augment` group existed trained with.
    """
    mean, std = normalization(cfg)
    values = dict(base_size=cfg["base_size"], crop_size=size_pair("dataset.crop_size", cfg["crop_size"]),
                  hflip_prob=cfg.get("hflip_prob", 0.5), ignore_index=cfg.get("ignore_index", 255),
                  scale_range=scale_range("dataset.scale_range", cfg.get("scale_range", (0.5, 2.0))),
                  resize=resize_mode(cfg))
    if not (isinstance(values["hflip_prob"], (int, float)) and 0 <= values["hflip_prob"] <= 1):
        raise ConfigError(f"dataset.hflip_prob={values['hflip_prob']!r} is not allowed; give a probability in [0, 1]")
    if augment is None:
        return SegmentationPresetTrain(**values, mean=mean, std=std)
    return build_augment(augment, {**values, "in_channels": image_channels(cfg)}, mean, std)


def build_eval_transform(cfg: dict[str, Any], resize_mask: bool = False) -> SegmentationPresetEval:
    """The eval/predict transform a dataset config asks for (base_size, the optional resize mode, and the
    normalisation of its in_channels)."""
    mean, std = normalization(cfg)
    return SegmentationPresetEval(base_size=cfg["base_size"], resize_mask=resize_mask, mean=mean, std=std,
                                  resize=resize_mode(cfg))


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


def collate_padded(batch: list[tuple[torch.Tensor, torch.Tensor]], ignore_index: int = 255, pad_multiple: int = 1):
    """Stack images and masks of different sizes, padding images with 0 and masks with ignore_index.

    Image height and width are also rounded up to a multiple of `pad_multiple`: far fewer distinct input
    shapes, so kernels picked per shape (oneDNN primitives, cudnn.benchmark) are reused across images.
    Returns (images, masks, image_sizes, mask_sizes) so callers can crop the padding away again.
    """
    image_sizes = [tuple(img.shape[-2:]) for img, _ in batch]
    mask_sizes = [tuple(mask.shape[-2:]) for _, mask in batch]
    ih, iw = (round_up(max(s[i] for s in image_sizes), pad_multiple) for i in (0, 1))
    mh, mw = (max(s[i] for s in mask_sizes) for i in (0, 1))
    images = batch[0][0].new_zeros((len(batch), batch[0][0].shape[0], ih, iw))
    masks = batch[0][1].new_full((len(batch), mh, mw), ignore_index)
    for i, (img, mask) in enumerate(batch):
        images[i, :, : img.shape[-2], : img.shape[-1]] = img
        masks[i, : mask.shape[-2], : mask.shape[-1]] = mask
    return images, masks, image_sizes, mask_sizes


def resolve_workers(setting: int | str, device: torch.device) -> int:
    """DataLoader workers per process: a number, or "auto" by device and core count.

    CUDA: the model runs on the GPU, so loading may use this process's share of the cores (up to 8).
    CPU: the model's own threads use every core, so a worker process does not run beside the model but
    takes turns with it, and adds the cost of passing batches between processes. On the 2-core VM,
    loading in the main process beat one worker: training 0.93x vs. 0.83x of the compute ceiling,
    evaluation 0.77x vs. 0.65x of forward-only (scripts/bench_knobs.py --only workers). So no worker
    below 16 cores, and one per 16 cores above, where the model's threads scale less well.
    """
    if setting != "auto":
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return max(1, min(8, cores // local - 1))
    return cores // 16


def build_train_loader(
    dataset: Dataset, batch_size: int, workers: int, seed: int, rank: int = 0, world_size: int = 1,
    pin_memory: bool = False,
) -> DataLoader:
    """Shuffled loader of full batches; call `loader.sampler.set_epoch(epoch, start)` each epoch."""
    if len(dataset) < batch_size * world_size:
        from seg_cli.errors import ConfigError

        raise ConfigError(
            f"train.batch_size={batch_size} x {world_size} process(es) exceeds the {len(dataset)} training images"
        )
    sampler = TrainSampler(len(dataset), batch_size, seed, rank, world_size)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True,
        pin_memory=pin_memory, persistent_workers=workers > 0,
    )


def build_eval_loader(
    dataset: SegmentationDataset, batch_size: int, workers: int, rank: int = 0, world_size: int = 1,
    pin_memory: bool = False, pad_multiple: int = 1,
) -> DataLoader:
    """Ordered loader over this rank's shard (see ShardSampler); batches above one image hold images of one
    padded input shape (see ShapeBatchSampler), and collate_padded pads whatever still differs."""
    collate = functools.partial(collate_padded, ignore_index=dataset.ignore_index, pad_multiple=pad_multiple)
    common = dict(num_workers=workers, pin_memory=pin_memory, persistent_workers=workers > 0, collate_fn=collate)
    if batch_size == 1:
        return DataLoader(dataset, batch_size=1, sampler=ShardSampler(len(dataset), rank, world_size), **common)
    shape_of = functools.partial(padded_input_shape, dataset, pad_multiple=pad_multiple)
    return DataLoader(dataset, batch_sampler=ShapeBatchSampler(len(dataset), shape_of, batch_size, rank, world_size),
                      **common)


def padded_input_shape(dataset: SegmentationDataset, index: int, pad_multiple: int = 1) -> tuple[int, int] | None:
    """The (height, width) sample `index` enters the model with, after the eval transform's resize and the
    padding to `pad_multiple`, from the image's header alone; None where the dataset cannot tell."""
    size = dataset.image_size(index)
    if size is None:
        return None
    output_size = getattr(dataset.transforms, "output_size", None)
    height, width = output_size(*size) if output_size is not None else size
    return round_up(height, pad_multiple), round_up(width, pad_multiple)


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= `value` (the padded side of an eval input)."""
    return -(-value // multiple) * multiple
