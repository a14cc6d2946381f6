"""The file formats of `seg export format=`: one module per format, looked up by name.

The names are seg_cli.choices.EXPORT_FORMATS (the modules of this folder, listed without importing them, read by
the config check before torch loads); the format of name N is the `FORMAT` class of seg_cli.export.formats.N, so
a new format is one module here.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from seg_cli.choices import EXPORT_FORMATS
from seg_cli.errors import ConfigError
from seg_cli.export.formats.base import ExportFormat, Written

__all__ = ["EXPORT_FORMATS", "ExportFormat", "Written", "build_format", "check_fits", "format_class", "formats_for"]


def format_class(name: str) -> type[ExportFormat]:
    """The ExportFormat class of `format=name` (a name of EXPORT_FORMATS)."""
    if name not in EXPORT_FORMATS:
        raise ConfigError(f"format={name!r} is not allowed; choose from: {', '.join(EXPORT_FORMATS)}")
    return importlib.import_module(f"{__name__}.{name}").FORMAT


def formats_for(model: nn.Module) -> list[str]:
    """The formats that can export `model` (every family has onnx and torchscript; hf and smp their own)."""
    return [name for name in EXPORT_FORMATS if format_class(name).fits(model)]


def check_fits(fmt: ExportFormat, model: nn.Module) -> None:
    """One line naming the formats that fit, where `fmt` does not fit `model`'s family."""
    if not fmt.fits(model):
        raise ConfigError(f"format={fmt.name} {fmt.fits_what}; this checkpoint's model exports as: "
                          f"{', '.join(formats_for(model))}")


def build_format(name: str, model: nn.Module, **settings: Any) -> ExportFormat:
    """The format `name` set up with the export's `settings` (opset, onnx_exporter), checked to fit `model`."""
    fmt = format_class(name).from_settings(settings)
    check_fits(fmt, model)
    return fmt
