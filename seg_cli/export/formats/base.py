"""What every export format declares: its `format=` name, what it writes, and how to run what it wrote."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seg_cli.export.exporters import INPUT_NAME, OUTPUT_NAME, LogitsOnly
from seg_cli.models.contract import unwrap_model

Runner = Callable[[np.ndarray], np.ndarray]  # normalised (N, C, H, W) float32 batch -> logits (N, classes, H, W)


@dataclass
class Written:
    """An export on disk: `run` computes its logits (for the check against PyTorch), `kind` names it in words;
    `fixed_size` is the (height, width) it takes only, where it is size-bound, and `why` says why."""

    run: Runner
    kind: str
    fixed_size: tuple[int, int] | None = None
    why: str = ""


class ExportFormat:
    """One `format=` value: writes a trained seg model to `path` and loads it back as a Runner.

    `write` gets the trained model as seg built it (aux heads included: a folder format keeps them for further
    training); a graph format exports `exporters.LogitsOnly(model)`. `size_bound` says the model's graph is right
    only at the sample's size (seg_cli.models.contract.size_bound): a format whose file would be wrong at other
    sizes fixes the size and says so in Written.fixed_size.
    """

    name: ClassVar[str]  # the format= value
    suffix: ClassVar[str]  # of the default output: ".onnx", ".pt", or "" for a folder
    fits_what: ClassVar[str] = "exports any model"  # the models it fits, in words ("exports model=hf checkpoints")
    family: ClassVar[type | None] = None  # the adapter class of the one model family it holds (None: any model)
    packages: ClassVar[tuple[str, ...]] = ()  # Python packages it needs
    hint: ClassVar[str] = "format=onnx"  # what to try when the export fails

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ExportFormat:
        """The format for the export's `settings` (opset, onnx_exporter); most take none."""
        return cls()

    @classmethod
    def fits(cls, model: nn.Module) -> bool:
        """Whether this format can hold `model` (a format of one model family fits that family only)."""
        return cls.family is None or isinstance(unwrap_model(model), cls.family)

    def missing_packages(self) -> list[str]:
        """The Python packages the export and its check need but are not installed."""
        return [name for name in self.packages if importlib.util.find_spec(name) is None]

    def install_hint(self, missing: list[str]) -> str:
        """How to install the `missing` packages."""
        return f"pip install {' '.join(missing)}"

    def describe(self) -> str:
        """How the file is made, in the words of the API that makes it."""
        raise NotImplementedError

    def usage(self, channels: int, classes: int, fixed_size: tuple[int, int] | None) -> str:
        """What the written model takes and returns, in words."""
        height, width = fixed_size or ("height", "width")
        return (f"input '{INPUT_NAME}' float32 [batch, {channels}, {height}, {width}] -> '{OUTPUT_NAME}' "
                f"[batch, {classes}, {height}, {width}]")

    def write(self, model: nn.Module, sample: torch.Tensor, path: Path, metadata: dict[str, Any],
              size_bound: bool) -> Written:
        """Write `model` (traced on `sample` where the format traces) with seg's `metadata` to `path`."""
        raise NotImplementedError


def torch_runner(model: nn.Module) -> Runner:
    """A numpy-in, numpy-out runner of a PyTorch model's main logits (a folder format's loaded model)."""
    wrapped = LogitsOnly(model).eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return wrapped(torch.from_numpy(batch)).numpy()

    return run
