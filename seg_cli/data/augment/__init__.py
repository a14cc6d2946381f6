"""Training augmentation as data: the `augment.steps` list of configs/augment/*.yaml -> an AugmentPipeline.

Each module of this package registers its steps by name (seg_cli.data.augment.registry.register) when the
package loads, so a new step is one module here plus its entry in a YAML; the names YAML entries may use are
the registry's keys, and nothing else lists them.
"""

from __future__ import annotations

import importlib
import pkgutil

from seg_cli.data.augment.pipeline import AugmentPipeline, build_augment
from seg_cli.data.augment.registry import STEPS, Step, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["STEPS", "AugmentPipeline", "Step", "build_augment", "register"]
