"""Keep the validation batches of a training run's first evaluation in memory and replay them.

Eval transforms are deterministic, so every evaluation of a run would decode, resize and normalise the
very same tensors again. On a 2-core CPU that loading is most of what evaluation adds to the forward
passes (scripts/bench.py: eval_ips vs. eval_replay_ips).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

log = logging.getLogger(__name__)


def batch_bytes(batch: Any) -> int:
    """Bytes held by the tensors of a (possibly nested) batch."""
    if isinstance(batch, torch.Tensor):
        return batch.numel() * batch.element_size()
    if isinstance(batch, (list, tuple)):
        return sum(batch_bytes(item) for item in batch)
    return 0


class ReplayLoader:
    """Iterates `loader`; once a pass has completed within `max_mib`, later passes replay it from memory.

    A set larger than `max_mib` is streamed every time (the kept batches are dropped as soon as the
    limit is crossed, so memory never exceeds it by more than one batch). `max_mib=0` turns replay off.
    """

    def __init__(self, loader: DataLoader, max_mib: float) -> None:
        self.loader = loader
        self.dataset = loader.dataset
        self.max_bytes = max_mib * 2**20
        self.batches: list[Any] | None = None
        self.streaming = max_mib <= 0  # gave up on keeping this set in memory

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        if self.batches is not None:
            yield from self.batches
            return
        kept: list[Any] | None = None if self.streaming else []
        size = 0
        for batch in self.loader:
            if kept is not None:
                size += batch_bytes(batch)
                if size > self.max_bytes:
                    log.info("validation set exceeds eval.cache_mib=%g MiB: reloading it at every evaluation",
                             self.max_bytes / 2**20)
                    kept, self.streaming = None, True
                else:
                    kept.append(batch)
            yield batch
        if kept is not None:  # only a complete pass is replayed
            self.batches = kept
