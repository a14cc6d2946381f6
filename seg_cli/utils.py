"""Small helpers shared by the packages (no torch import at module level)."""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any


def import_target(path: str) -> Callable[..., Any]:
    """Resolve a dotted `package.module.name` (a config's `_target_`, moved ones followed) to the object it names."""
    from seg_cli.legacy import current_target

    path = current_target(path, {})[0]
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        from seg_cli.errors import ConfigError

        raise ConfigError(f"_target_ '{path}' cannot be imported: {exc}") from None


def split_target(cfg: dict[str, Any]) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Split a config mapping into the callable named by `_target_` and its keyword arguments."""
    from seg_cli.legacy import current_target

    target, kwargs = current_target(cfg["_target_"], {k: v for k, v in cfg.items() if not k.startswith("_")})
    return import_target(target), kwargs


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `update` merged in: mappings key by key, every other value replaced."""
    merged = dict(base)
    for key, value in update.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def call_with_config(target: Callable[..., Any], group: str, **kwargs: Any) -> Any:
    """Call a config's builder; a keyword it does not take becomes an error naming the config group."""
    accepted = accepted_keywords(target)
    unknown = sorted(set(kwargs) - set(accepted or kwargs))
    if unknown:
        from seg_cli.errors import ConfigError

        raise ConfigError(f"{group} key(s) {', '.join(unknown)} not accepted by {target.__module__}."
                          f"{target.__qualname__}; accepted: {', '.join(accepted)}")
    return target(**kwargs)


def accepted_keywords(target: Callable[..., Any]) -> list[str] | None:
    """The keyword arguments `target` takes, in order; None where it takes any.

    A class whose `__init__` passes `**kwargs` on to its base class's takes the base's keywords too (the
    dataset classes do so with the keys every dataset shares).
    """
    import inspect

    if inspect.isclass(target):  # object's own __init__ takes nothing; its signature says *args, **kwargs
        owners = [klass for klass in target.__mro__ if "__init__" in vars(klass) and klass is not object]
        signatures = [inspect.signature(owner.__init__) for owner in owners]
    else:
        signatures = [inspect.signature(target)]
    names: list[str] = []
    for signature in signatures:
        params = [p for p in signature.parameters.values() if p.name != "self"]
        names += [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None if signatures else names  # every signature passed **kwargs on (or none was there: no keywords)


# a list of numbers (and nulls) as json.dumps(indent=2) spreads it, one item a line (the raw newlines: never in a
# JSON string)
_NUMBER_LIST = re.compile(r"\[\n\s*((?:-?[\d.eE+-]+|null)(?:,\n\s*(?:-?[\d.eE+-]+|null))*)\n\s*\]")


def write_json(data: dict[str, Any], path: Path) -> None:
    """JSON with NaN written as null (strict JSON readers reject NaN); a list of numbers (a confusion-matrix row,
    a curve) on one line, so the file stays readable."""
    text = json.dumps(_finite_or_none(data), indent=2, allow_nan=False)
    text = _NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m[1])) + "]", text)
    path.write_text(text + "\n")


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
