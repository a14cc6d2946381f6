"""Seeding and mixed precision settings."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch; optionally ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    else:
        # Training crops have one size: let cuDNN time its algorithms once and keep the fastest.
        torch.backends.cudnn.benchmark = True


def amp_dtype(device: torch.device, enabled: bool, dtype_name: str) -> torch.dtype | None:
    """The autocast dtype, or None when AMP is off (always off on CPU)."""
    if not enabled or device.type != "cuda":
        return None
    return {"float16": torch.float16, "bfloat16": torch.bfloat16}[dtype_name]


def grad_scaler(dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """float16 needs loss scaling; bfloat16 and fp32 do not."""
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
