"""Turn a dataset config (plain dict) into datasets and DataLoaders."""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from seg_cli.data.base import SegmentationDataset
from seg_cli.data.samplers import ShapeBatchSampler, ShardSampler, TrainSampler
from seg_cli.data.targets import CLASS_TARGET, Target
from seg_cli.data.transform_config import build_eval_transform, build_train_transform
from seg_cli.tasks import get_task
from seg_cli.utils import call_with_config, split_target


def build_dataset(cfg: dict[str, Any], split: str, train: bool, resize_mask: bool = False,
                  augment: dict[str, Any] | None = None) -> SegmentationDataset:
    """Instantiate the dataset class named by `_target_` with the transforms for `split`.

    The config's keys are the class's keyword arguments. The class makes its split's default transforms;
    `train` picks the ones used here: the training transform of the `augment` config (configs/augment/*.yaml,
    see build_train_transform) or the eval one, moving masks as the dataset's task's target type.
    """
    target, kwargs = split_target(cfg)
    dataset = call_with_config(target, "dataset", split=split, **kwargs)
    mask_type = get_task(dataset.task).target
    if train:
        dataset.transforms = build_train_transform(kwargs, augment, mask_type)
    else:
        dataset.transforms = build_eval_transform(kwargs, resize_mask, mask_type)
    return dataset


def collate_padded(batch: list[tuple[torch.Tensor, torch.Tensor]], ignore_index: int = 255, pad_multiple: int = 1,
                   target: Target = CLASS_TARGET):
    """Stack images and masks of different sizes, padding images with 0 and masks as their `target` kind says
    (seg_cli.data.targets; a class-index mask with ignore_index).

    Image height and width are also rounded up to a multiple of `pad_multiple`: far fewer distinct input
    shapes, so kernels picked per shape (oneDNN primitives, cudnn.benchmark) are reused across images.
    Returns (images, masks, image_sizes, mask_sizes) so callers can crop the padding away again.
    """
    image_sizes = [tuple(img.shape[-2:]) for img, _ in batch]
    mask_sizes = [tuple(mask.shape[-2:]) for _, mask in batch]
    ih, iw = (round_up(max(s[i] for s in image_sizes), pad_multiple) for i in (0, 1))
    images = batch[0][0].new_zeros((len(batch), batch[0][0].shape[0], ih, iw))
    for i, (img, _) in enumerate(batch):
        images[i, :, : img.shape[-2], : img.shape[-1]] = img
    return images, target.collate([mask for _, mask in batch], ignore_index), image_sizes, mask_sizes


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
    collate = functools.partial(collate_padded, ignore_index=dataset.ignore_index, pad_multiple=pad_multiple,
                                target=get_task(dataset.task).target)
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
