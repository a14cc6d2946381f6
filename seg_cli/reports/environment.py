"""The software and hardware a run ran on, recorded once in its folder (environment.json).

The run's own process records it (the first report it writes), so a page re-rendered later by `seg report`,
maybe on another machine, shows the run's versions rather than the reporter's.
"""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from seg_cli.reports.run_folder import read_json, read_text
from seg_cli.utils import write_json

ENVIRONMENT_FILE = "environment.json"
LOG_FILES = ("train.log", "evaluate.log")
_LOGGED_DEVICE = re.compile(r"\] - device (\S+)")  # seg train logs `device cpu | 1 process(es) ...`


def run_environment(run_dir: Path, config: Any, record: bool) -> dict[str, Any] | None:
    """The run's environment: environment.json when there is one; else, when `record` (the caller is the run
    itself), this process's environment, written there first. None: not recorded and not ours to record."""
    recorded = read_json(run_dir / ENVIRONMENT_FILE)
    if isinstance(recorded, dict):
        return recorded
    if not record:
        return None
    environment = current_environment(device_of(run_dir, config))
    write_json(environment, run_dir / ENVIRONMENT_FILE)
    return environment


def current_environment(device: str | None) -> dict[str, Any]:
    """This process's seg, Python, torch and CUDA versions, the device and the seg git commit (if any)."""
    import torch  # the run that records has torch loaded already

    from seg_cli import __version__

    return {
        "seg": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "device": resolved_device(device),
        "git_commit": git_commit(),
        "platform": platform.platform(terse=True),
    }


def device_of(run_dir: Path, config: Any) -> str | None:
    """The device the run asked for or used: the one its log names (seg train resolves `auto` there), else
    the config's `train.device` / `device`."""
    for name in LOG_FILES:
        match = _LOGGED_DEVICE.search(read_text(run_dir / name) or "")
        if match:
            return match.group(1)
    if not isinstance(config, dict):
        return None
    train = config.get("train")
    device = train.get("device") if isinstance(train, dict) else config.get("device")
    return str(device) if device is not None else None


def resolved_device(device: str | None) -> str | None:
    """`auto` as this process's device (what the run resolved it to), with the GPU's name for CUDA."""
    import torch

    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu" if device == "auto" else None
    if device and device.startswith("cuda") and torch.cuda.is_available():
        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        if index < torch.cuda.device_count():
            return f"{device} ({torch.cuda.get_device_name(index)})"
    return device


def git_commit() -> str | None:
    """The commit of the checkout seg runs from (`git rev-parse HEAD` in the package's folder), with
    `+changes` when files differ from it; None outside a git checkout or without git."""
    folder = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if status.stdout.strip() else "")
