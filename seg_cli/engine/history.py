"""A training run's history.json and curves.png: the train loss and lr every `train.log_every` optimizer steps
(and at each epoch's end), every validation metric at each evaluation, and the best one.

history.json = {"train": [{"step", "epoch", "loss", "lr"}, ...], "eval": [{"step", "epoch", <metric>: value,
...}, ...], "best": {"metric", "step", "value"}}: a train entry's loss is the mean of the optimizer steps since
the previous entry (as the log line shows it), its epoch the 1-based epoch it belongs to. history.json is
rewritten at every evaluation and curves.png at most every CURVES_EVERY_S seconds (and at the end), so a copy
of either shows the run so far. A resumed run reads the history of the run it continues and carries on from
the checkpoint's step.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from seg_cli.reports.curves import curves_data, draw_curves
from seg_cli.reports.plot import Plot
from seg_cli.reports.safe import task_plots, write_plots, write_report_safely
from seg_cli.utils import write_json

log = logging.getLogger(__name__)

HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"
# Drawing curves.png takes ~0.7 s on a CPU: with evaluations seconds apart (the synthetic quickstart's) a
# drawing per evaluation was a tenth of the run, while a person looking at the file misses nothing at 30 s.
CURVES_EVERY_S = 30.0
COUNTS = ("images", "pixels")  # numbers an evaluation reports that are no metric to plot


class RunHistory:
    """The points of one run, recorded as it trains; written by `write`."""

    def __init__(self, best_metric: str, train: list[dict] | None = None, evals: list[dict] | None = None) -> None:
        self.best_metric = best_metric
        self.train: list[dict[str, Any]] = list(train or [])
        self.evals: list[dict[str, Any]] = list(evals or [])
        self.best: dict[str, Any] | None = None

    @classmethod
    def resume(cls, best_metric: str, folder: Path | None, step: int) -> RunHistory:
        """The history of the run in `folder` up to optimizer step `step` (where its checkpoint stood: later
        points are trained again), or an empty one where that run left none."""
        path = None if folder is None else Path(folder) / HISTORY_FILE
        if path is None or not path.is_file():
            return cls(best_metric)
        try:
            old = json.loads(path.read_text())
            history = cls(best_metric, [e for e in old.get("train", []) if e["step"] <= step],
                          [e for e in old.get("eval", []) if e["step"] <= step])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("could not read %s (%s); the history starts afresh", path, exc)
            return cls(best_metric)
        log.info("continuing the history of %s: %d train and %d validation points", path, len(history.train),
                 len(history.evals))
        return history

    def add_train(self, step: int, epoch: int, loss: float, lr: float) -> None:
        self.train.append({"step": step, "epoch": epoch, "loss": loss, "lr": lr})

    def add_eval(self, step: int, epoch: int, metrics: dict[str, Any]) -> None:
        """Record the scalar metrics of one evaluation (not per-class tables, curves or counts)."""
        scalars = {key: value for key, value in metrics.items() if key not in COUNTS and _is_number(value)}
        self.evals.append({"step": step, "epoch": epoch, **scalars})

    def set_best(self, step: int | None, value: float | None) -> None:
        self.best = None if step is None else {"metric": self.best_metric, "step": step, "value": value}

    def as_dict(self) -> dict[str, Any]:
        return {"train": self.train, "eval": self.evals, "best": self.best}

    def write(self, run_dir: Path, draw: bool = True) -> None:
        """history.json, then (with `draw`) curves.png; a curve that cannot be drawn is one warning."""
        write_json(self.as_dict(), Path(run_dir) / HISTORY_FILE)
        if draw:
            write_plots([Plot(CURVES_FILE, draw_curves, curves_data(self.as_dict()))], run_dir)


def _is_number(value: Any) -> bool:
    """A scalar metric (NaN included: it is written as null, keeping one point per evaluation)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class RunRecord:
    """What rank 0 leaves in a training run's folder for people: history.json at every evaluation, curves.png
    at the first and then at most every CURVES_EVERY_S seconds, and at the end both and the last evaluation's
    plots (as `seg eval` draws them); report.html with each."""

    def __init__(self, run_dir: Path, history: RunHistory, task: Any, draw: bool = True) -> None:
        self.run_dir, self.history, self.task, self.draw = Path(run_dir), history, task, draw
        self.drawn_at: float | None = None  # time.monotonic() of the last curves.png

    def evaluated(self, step: int, epoch: int, metrics: dict[str, Any], best_step: int | None,
                  best_value: float | None) -> None:
        self.history.add_eval(step, epoch, metrics)
        self.history.set_best(best_step, best_value)
        due = self.drawn_at is None or time.monotonic() - self.drawn_at >= CURVES_EVERY_S
        self._write_history(self.draw and due)
        write_report_safely(self.run_dir)

    def finish(self, metrics: dict[str, Any], rows: list[dict[str, Any]] | None, class_names: list[str],
               best_step: int | None, best_value: float | None) -> None:
        """The run's last writes, once metrics.json is there."""
        self.history.set_best(best_step, best_value)
        self._write_history(self.draw)
        if metrics and self.draw:
            write_plots(task_plots(self.task, metrics, rows, class_names), self.run_dir)
        write_report_safely(self.run_dir)

    def _write_history(self, draw: bool) -> None:
        self.history.write(self.run_dir, draw)
        if draw:
            self.drawn_at = time.monotonic()
