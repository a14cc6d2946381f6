"""The foreground threshold of binary masks: the one a checkpoint's validation found, or one the user gives.

No torch import: `seg predict` checks `threshold=` before torch loads.
"""

from __future__ import annotations

import math
from typing import Any

from seg_cli.errors import ConfigError

DEFAULT_THRESHOLD = 0.5  # where neither the user nor the checkpoint says otherwise


def checkpoint_threshold(state: dict[str, Any]) -> float | None:
    """The `best_threshold` (max-F threshold on the validation split) of the evaluation a checkpoint holds in
    `progress.last_metrics`; for best.pt the evaluation that made it best. None where it has none.

    A threshold found on min-max normalised maps (eval.sod_normalize=minmax) is not one for raw
    probabilities, which is what masks are cut from, so it does not count.
    """
    metrics = (state.get("progress") or {}).get("last_metrics") or {}
    if metrics.get("sod_normalize", "none") != "none":
        return None
    return valid_threshold(metrics.get("best_threshold"))


def valid_threshold(value: Any) -> float | None:
    """`value` as a threshold if it is a finite number in [0, 1] (what a file stores may be anything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if 0 <= value <= 1 else None


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
    """(threshold, where it came from, for the log): the given one, else the checkpoint's, else 0.5."""
    if setting is not None:
        return setting, "given"
    if stored is not None:
        return stored, "the checkpoint's max-F threshold on its validation split"
    return DEFAULT_THRESHOLD, "the default; the checkpoint stores no max-F threshold"
