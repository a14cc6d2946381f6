"""The shapes a config value may take: what users naturally type, normalised in one place.

No torch import: the config checks run before anything heavy is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seg_cli.errors import ConfigError

Size = tuple[int, int]


def size_pair(key: str, value: int | Sequence[int]) -> Size:
    """A (height, width) key: one int for a square, or a [height, width] pair."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else _as_tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair):
        raise ConfigError(f"{key}={_shown(value)} must be a positive integer (a square) or a [height, width] pair")
    return pair


def scale_range(key: str, value: float | Sequence[float]) -> tuple[float, float]:
    """A [low, high] range of positive factors; one number is a fixed factor."""
    pair = (value, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _as_tuple(value)
    if (len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in pair)
            or pair[0] > pair[1]):
        raise ConfigError(f"{key}={_shown(value)} must be a [low, high] pair of positive factors with low <= high "
                          "(or one factor)")
    return float(pair[0]), float(pair[1])


def as_list(key: str, value: Any, item_type: type | tuple[type, ...]) -> list[Any]:
    """A list key that also takes one bare item: `save=mask` means `save=[mask]`."""
    items = [value] if isinstance(value, (str, int, float)) else list(_as_tuple(value))
    wanted = (float, int) if item_type is float else item_type
    if any(isinstance(v, bool) or not isinstance(v, wanted) for v in items):
        name = getattr(item_type, "__name__", str(item_type))
        raise ConfigError(f"{key}={_shown(value)} must be a {name} or a list of them, e.g. {key}=[a,b]")
    return [float(v) for v in items] if item_type is float else items


def resume_setting(value: str | None) -> str | None:
    """`train.resume`: null, auto or a path; `true` / `false`, as users naturally type them, mean auto / null
    (the schema has already turned them into the strings "True" / "False")."""
    words = {"true": "auto", "false": None, "none": None, "null": None}
    return words.get(value.lower(), value) if isinstance(value, str) else value


def _as_tuple(value: Any) -> tuple:
    try:
        return tuple(value)
    except TypeError:
        return (value,)


def _shown(value: Any) -> str:
    return str(list(value)) if not isinstance(value, (str, int, float)) and value is not None else str(value)
