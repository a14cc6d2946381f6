"""The `predict:` section of `seg predict`'s config (configs/predict.yaml) as one checked object, handed to the
output writers (alpha depth, composite background, foreground colours) and the input sources (video frames)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from seg_cli.choices import ALPHA_BITS, ALPHA_VIDEOS, FOREGROUND
from seg_cli.errors import ConfigError


@dataclass(frozen=True)
class PredictOptions:
    """See configs/predict.yaml for each key; the defaults are its defaults."""

    alpha_bits: int = 8
    background: Any = "green"
    foreground: str = "photo"
    batch_size: int = 4
    every_n_frames: int = 1
    max_frames: int | None = None
    frames: bool = False
    alpha_video: str | None = None

    def __post_init__(self) -> None:
        _require("alpha_bits", self.alpha_bits, ALPHA_BITS)
        _require("foreground", self.foreground, FOREGROUND)
        if self.alpha_video is not None:
            _require("alpha_video", self.alpha_video, ALPHA_VIDEOS)
        for key in ("batch_size", "every_n_frames", "max_frames"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"predict.{key}={value!r} must be a whole number >= 1"
                                  + (" (or null for all)" if key == "max_frames" else ""))

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> PredictOptions:
        """The options of a plain `predict:` mapping; an unknown key is a ConfigError naming the known ones."""
        section = dict(section or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ConfigError(f"predict.{unknown[0]} is not a predict key; choose from: {', '.join(known)}")
        return cls(**section)


def _require(key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"predict.{key}={value!r} is not allowed; choose from: {', '.join(map(str, allowed))}")
