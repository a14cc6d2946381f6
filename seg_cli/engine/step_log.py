"""The training log line every `train.log_every` optimizer steps, whose mean loss is also a point of the run's
history (seg_cli.engine.history)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

log = logging.getLogger(__name__)


class StepLog:
    """A log line every `train.log_every` optimizer steps: the mean loss of the steps since the previous line,
    the learning rate and the throughput, so a run without a terminal (no progress bar) is not silent for
    a whole epoch."""

    def __init__(self, epoch: int, options: Any, samples_per_step: int) -> None:  # options: a FitOptions
        self.epoch, self.options, self.samples_per_step = epoch, options, samples_per_step
        self.loss_sum, self.finite, self.taken, self.tick = 0.0, 0, 0, time.perf_counter()
        self.last: tuple[int, float] = (0, 0.0)  # step and lr of the latest optimizer step

    def add(self, step: int, loss: float, lr: float) -> float | None:
        """Count one optimizer step; the mean loss of the line when one was logged (None: none was, or every
        step since the previous line was skipped as non-finite)."""
        self.taken += 1
        self.last = (step, lr)
        if math.isfinite(loss):  # a skipped non-finite batch (train.skip_nonfinite) has its own warning
            self.loss_sum, self.finite = self.loss_sum + loss, self.finite + 1
        if step % self.options.log_every:
            return None
        mean = self.loss_sum / self.finite if self.finite else None
        now = time.perf_counter()
        rate = self.taken * self.samples_per_step / max(now - self.tick, 1e-9)
        budget = f"/{self.options.max_steps}" if self.options.max_steps else ""
        log.info("epoch %d/%d  step %d%s  loss %.4f  lr %.3e  %.1f img/s", self.epoch + 1, self.options.epochs,
                 step, budget, self.loss_sum / max(self.finite, 1), lr, rate)
        self.loss_sum, self.finite, self.taken, self.tick = 0.0, 0, 0, now
        return mean

    def rest(self) -> tuple[int, float, float] | None:
        """(step, mean loss, lr) of the finite steps counted since the last line; None where there are none."""
        if not self.finite:
            return None
        step, lr = self.last
        return step, self.loss_sum / self.finite, lr
