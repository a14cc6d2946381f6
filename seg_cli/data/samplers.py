"""Samplers that make training data order and augmentation a pure function of (seed, epoch).

TrainSampler yields (index, sample_seed) pairs: the dataset seeds its random transforms with
sample_seed, so augmentations do not depend on which worker loads a sample, and a run resumed in
the middle of an epoch (or on another number of processes) sees exactly the remaining samples.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator

import torch
from torch.utils.data import Sampler

_SEED_MASK = 2**63 - 1


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-spread 63-bit seed for one sample of one epoch."""
    mixed = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & _SEED_MASK
    return mixed ^ (mixed >> 31)


class TrainSampler(Sampler[tuple[int, int]]):
    """Shuffled each epoch from (seed, epoch); rank r takes every world-th sample of each global batch.

    The last incomplete global batch is dropped, so every rank runs the same number of steps.
    `set_epoch(epoch, start)` skips the first `start` samples of the epoch's global order.
    """

    def __init__(self, length: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True) -> None:
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.global_batch = batch_size * world_size
        self.usable = length // self.global_batch * self.global_batch
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            order = torch.randperm(self.length, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        else:
            order = torch.arange(self.length)
        mine = order[: self.usable][self.start :][self.rank :: self.world_size].tolist()
        return iter((index, sample_seed(self.seed, self.epoch, index)) for index in mine)

    def __len__(self) -> int:
        return max(0, self.usable - self.start) // self.world_size


class ShardSampler(Sampler[int]):
    """Rank r gets indices r, r + world, ...: every sample exactly once, no padded duplicates."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class ShapeBatchSampler(Sampler[list[int]]):
    """Evaluation batches of one input shape each, over the shard ShardSampler would give this rank.

    `shape_of(index)` is the padded input size of sample `index`, or None where unknown. The shard's indices
    are grouped by it, in order of first appearance, and each group is cut into batches of up to
    `batch_size`; a sample of unknown size is a batch of its own. An image in a batch then gets the very
    padding it would get alone, so its logits match one-at-a-time evaluation up to float rounding (max
    |diff| 3e-8 on the synthetic set) whatever shares its batch, while the model runs several images per
    call (scripts/bench_knobs.py eval_batch).
    """

    def __init__(self, length: int, shape_of: Callable[[int], Hashable | None], batch_size: int, rank: int = 0,
                 world_size: int = 1) -> None:
        groups: dict[Hashable, list[int]] = {}
        for index in range(rank, length, world_size):
            shape = shape_of(index)
            groups.setdefault(("unknown", index) if shape is None else shape, []).append(index)
        self.batches = [group[i : i + batch_size] for group in groups.values() for i in range(0, len(group), batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)
