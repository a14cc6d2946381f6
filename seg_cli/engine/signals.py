"""SIGINT / SIGTERM during training: a flag the run loop checks after each step, then saves and stops."""

from __future__ import annotations

import signal
import threading
from typing import Any

import torch

from seg_cli.engine import distributed


class StopSignals:
    """Turn SIGINT / SIGTERM into a flag the loop checks after each step (then saves and stops)."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def requested(self) -> int:
        """The signal number if any process of the run received one (all ranks stop together)."""
        flag = torch.tensor([self.signum])
        if distributed.world_size() > 1:
            import torch.distributed as dist

            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
