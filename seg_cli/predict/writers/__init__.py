"""The output writers of `seg predict save=`: one module per kind, looked up by name.

The names are seg_cli.choices.PREDICT_SAVE (the modules of this folder, listed without importing them, read by
the config check before torch loads); the writer of name N is the `WRITER` class of seg_cli.predict.writers.N, so
a new output kind is one module here.
"""

from __future__ import annotations

import importlib
from typing import Any

from seg_cli.choices import PREDICT_SAVE
from seg_cli.errors import ConfigError
from seg_cli.predict.writers.base import OutputWriter

__all__ = ["PREDICT_SAVE", "OutputWriter", "build_writers", "output_suffixes", "writer_class"]


def writer_class(name: str) -> type[OutputWriter]:
    """The OutputWriter class of `save=name` (a name of PREDICT_SAVE)."""
    if name not in PREDICT_SAVE:
        raise ConfigError(f"save={name!r} is not allowed; choose from: {', '.join(PREDICT_SAVE)}")
    return importlib.import_module(f"{__name__}.{name}").WRITER


def build_writers(names: list[str], **settings: Any) -> list[OutputWriter]:
    """The writers of `names`, in that order, set up with the run's drawing `settings` (overlay_alpha)."""
    return [writer_class(name).from_settings(settings) for name in names]


def output_suffixes() -> dict[str, str]:
    """{save= name: file suffix} of every output kind: what the output naming keeps free for each image."""
    return {name: writer_class(name).suffix for name in PREDICT_SAVE}
