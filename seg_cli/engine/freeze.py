"""Frozen parts of a model (`train.freeze`): no gradients, no optimizer updates, BatchNorm in eval mode.

Prefixes are module names as `model.named_modules()` spells them (`backbone`, `backbone.layer1`,
`classifier.4`). The name `backbone` also means a model's own encoder where it calls it something
else: the encoder its family declares (seg_cli.models.contract; UNet: `stem`, `downs`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from seg_cli.errors import ConfigError
from seg_cli.models.contract import spec_of


def backbone_prefixes(model: nn.Module) -> tuple[str, ...]:
    """The top-level modules that make up `model`'s encoder (empty when it has no such part)."""
    return spec_of(model).encoder


def in_prefixes(name: str, prefixes: Sequence[str]) -> bool:
    """Whether the parameter or module `name` lies under one of the dotted `prefixes`."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def resolve_prefixes(model: nn.Module, prefixes: Sequence[str], key: str = "train.freeze") -> tuple[str, ...]:
    """`prefixes` with `backbone` expanded to the model's encoder; one that names no module is an error
    listing the model's top-level modules."""
    names = {name for name, _ in model.named_modules() if name}
    resolved: list[str] = []
    for prefix in prefixes:
        if prefix == "backbone" and "backbone" not in names and backbone_prefixes(model):
            resolved.extend(backbone_prefixes(model))
        elif prefix in names:
            resolved.append(prefix)
        else:
            top = ", ".join(name for name, _ in model.named_children())
            raise ConfigError(f"{key}: {prefix!r} matches no module of {type(model).__name__}; its top-level "
                              f"modules are: {top}")
    return tuple(resolved)


class Freezer:
    """Freezes the modules under `prefixes` for the first `epochs` epochs (None: for the whole run)."""

    def __init__(self, model: nn.Module, prefixes: Sequence[str], epochs: int | None = None) -> None:
        self.prefixes = resolve_prefixes(model, prefixes) if prefixes else ()
        self.epochs = epochs
        self.modules = [m for name, m in model.named_modules() if name and in_prefixes(name, self.prefixes)]
        self.params = [p for name, p in model.named_parameters() if in_prefixes(name, self.prefixes)]

    def active(self, epoch: int) -> bool:
        return bool(self.prefixes) and (self.epochs is None or epoch < self.epochs)

    def apply(self, epoch: int) -> None:
        """Set requires_grad for `epoch`: off while frozen, on again once the freeze is over."""
        if self.prefixes:
            for param in self.params:
                param.requires_grad_(not self.active(epoch))

    def train_mode(self, model: nn.Module, epoch: int) -> None:
        """model.train(), with the frozen modules (their BatchNorm statistics, their dropout) in eval mode."""
        model.train()
        if self.active(epoch):
            for module in self.modules:
                module.eval()
