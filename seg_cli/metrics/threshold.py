"""The foreground threshold of binary masks: the one a checkpoint's validation found, or one the user gives.

No torch import: `seg predict` checks `threshold=` before torch loads.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from seg_cli.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5  # where neither the user nor the checkpoint says otherwise (or it says 0 or 1)


def checkpoint_threshold(state: dict[str, Any]) -> float | None:
    """The `best_threshold` (max-F threshold on the validation split) of the evaluation a checkpoint holds in
    `progress.last_metrics`; for best.pt the evaluation that made it best. None where it has none. Stored as
    found, usable or not: `resolve_threshold` decides.

    A threshold found on min-max normalised maps (eval.sod_normalize=minmax) is not one for raw
    probabilities, which is what masks are cut from, so it does not count.
    """
    metrics = (state.get("progress") or {}).get("last_metrics") or {}
    if metrics.get("sod_normalize", "none") != "none":
        return None
    return as_threshold(metrics.get("best_threshold"))


def file_threshold(path: str | Path) -> float | None:
    """`checkpoint_threshold` of the checkpoint (or weights file) at `path`; None where `path` is not a file."""
    if not Path(path).is_file():
        return None
    from seg_cli.checkpoint import load_checkpoint  # torch: only once a file is read

    return checkpoint_threshold(load_checkpoint(path))


def as_threshold(value: Any) -> float | None:
    """`value` as a float if it is a finite number (what a file stores may be anything), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def parse_threshold(key: str, setting: Any) -> float | None:
    """`threshold=`: "auto" -> None (take the checkpoint's), else a number in [0, 1]."""
    if setting == "auto":
        return None
    if isinstance(setting, str):
        try:
            setting = float(setting)
        except ValueError:
            pass
    if isinstance(setting, bool) or not isinstance(setting, (int, float)) or not 0 <= setting <= 1:
        raise ConfigError(f"{key}={setting!r} is not allowed; use auto or a number in [0, 1]")
    return float(setting)


def resolve_threshold(setting: float | None, stored: float | None) -> tuple[float, str]:
    """(threshold, where it came from, for the log): the given one, else the checkpoint's, else 0.5.

    A stored threshold outside (0, 1) is not used, with a warning: a short run's validation can find its best
    F at 0 or 1, which would make every pixel foreground (or none).
    """
    if setting is not None:
        return setting, "given"
    if stored is None:
        return DEFAULT_THRESHOLD, "the default; the checkpoint stores no max-F threshold"
    if 0 < stored < 1:
        return stored, "the checkpoint's max-F threshold on its validation split"
    log.warning("the checkpoint's max-F threshold %.4f is not inside (0, 1) and would make every pixel foreground "
                "or none; using %g instead: set threshold=VALUE to choose one", stored, DEFAULT_THRESHOLD)
    return DEFAULT_THRESHOLD, f"the default; the stored max-F threshold {stored:.4f} is not inside (0, 1)"
