"""Self-describing checkpoints: plain data, written atomically, loaded with weights_only=True."""

from __future__ import annotations

import argparse
import os
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seg_cli.errors import CheckpointError


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write to a temp file in the same folder, fsync, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint or state dict on the CPU without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):  # torch.save has written zip archives since PyTorch 1.6
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or another format)")
    try:
        # torchvision's reference scripts keep their argparse.Namespace under "args": the one class allowed
        # beyond plain data (it rebuilds a namespace of attributes and runs no code of the file's choosing).
        with torch.serialization.safe_globals([argparse.Namespace]):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise CheckpointError(f"{path} holds pickled Python objects, not only tensors and plain data; "
                                  "refused for safety") from None
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or another format)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError):
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or another format)") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict or seg checkpoint")
    if isinstance(state.get("args"), argparse.Namespace):
        state["args"] = vars(state["args"])  # plain data from here on
    return state


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as plain data (loadable with weights_only=True)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss, "cached": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np.array(np_state["keys"], dtype=np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def find_newest(roots: list[Path], name: str) -> Path | None:
    """The most recently written `checkpoints/<name>` under any of `roots`."""
    found = [p for root in roots if root.is_dir() for p in root.rglob(f"checkpoints/{name}")]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)
