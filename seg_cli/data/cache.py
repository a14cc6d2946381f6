"""Keep decoded training samples in RAM, so later epochs skip reading and decoding them.

The cache holds each sample as loaded and checked (uint8 image and mask), before the random transforms,
so every epoch still draws fresh augmentations. Each process (the main one, or each DataLoader worker)
keeps its own, and the `max_mib` budget is split among the workers of a loader: with one process
loading (the CPU default, train.workers=auto) a set that fits is cached whole after the first epoch.
"""

from __future__ import annotations

import torch
from torch.utils.data import get_worker_info


def pair_bytes(pair: tuple[torch.Tensor, ...]) -> int:
    return sum(t.numel() * t.element_size() for t in pair)


def make_cache(max_mib: float) -> SampleCache | None:
    """The training set's cache for `data.cache_mib` (None when 0: decode every epoch)."""
    return SampleCache(max_mib) if max_mib > 0 else None


class SampleCache:
    """index -> (image, mask), filled until this process's share of `max_mib` is used, never evicted."""

    def __init__(self, max_mib: float) -> None:
        self.max_bytes = max_mib * 2**20
        self.pairs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.size = 0

    def budget(self) -> float:
        """This process's share: the whole budget, or 1/N of it in each of a loader's N workers."""
        worker = get_worker_info()
        return self.max_bytes / worker.num_workers if worker is not None else self.max_bytes

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.pairs.get(index)

    def put(self, index: int, pair: tuple[torch.Tensor, torch.Tensor]) -> None:
        nbytes = pair_bytes(pair)
        if self.size + nbytes <= self.budget():
            self.pairs[index] = pair
            self.size += nbytes
