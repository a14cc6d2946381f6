"""Where the packaged configs live and where runs write their outputs."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> str:
    """The configs folder: inside the wheel (`seg_cli/configs`) or the repo's top-level `configs/`."""
    for candidate in (_PACKAGE_DIR / "configs", _PACKAGE_DIR.parent / "configs"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"seg: configs folder not found next to {_PACKAGE_DIR}")
