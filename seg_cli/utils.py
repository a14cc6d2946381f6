"""Small helpers shared by the packages (no torch import at module level)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def import_target(path: str) -> Callable[..., Any]:
    """Resolve a dotted `package.module.name` (a config's `_target_`) to the object it names."""
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        from seg_cli.errors import ConfigError

        raise ConfigError(f"_target_ '{path}' cannot be imported: {exc}") from None


def split_target(cfg: dict[str, Any]) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Split a config mapping into the callable named by `_target_` and its keyword arguments."""
    kwargs = {k: v for k, v in cfg.items() if not k.startswith("_")}
    return import_target(cfg["_target_"]), kwargs


def call_with_config(target: Callable[..., Any], group: str, **kwargs: Any) -> Any:
    """Call a config's builder; a keyword it does not take becomes an error naming the config group."""
    import inspect

    accepted = inspect.signature(target).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            from seg_cli.errors import ConfigError

            raise ConfigError(f"{group} key(s) {', '.join(unknown)} not accepted by {target.__module__}."
                              f"{target.__qualname__}; accepted: {', '.join(accepted)}")
    return target(**kwargs)
