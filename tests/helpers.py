"""Shared test helpers: run the real `seg` CLI and write tiny datasets in real layouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Overrides that make `seg train` on the synthetic set take seconds.
FAST_TRAIN = [
    "train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
    "dataset.train_size=8", "dataset.val_size=4", "dataset.min_side=40", "dataset.max_side=56",
    "dataset.base_size=48", "dataset.crop_size=40",
    "eval.plots=false",  # ~1.5 s of matplotlib a run; tests/commands/test_run_plots.py draws (with true)
]
# Overrides that make `seg train dataset=voc ...` on a write_voc() fixture take seconds.
FAST_VOC = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
            "dataset.base_size=48", "dataset.crop_size=40"]


def cli_env(env: dict | None = None) -> dict[str, str]:
    """The environment a test's seg process runs in: this one plus `env`, unbuffered, with seg's own error lines
    (HYDRA_FULL_ERROR would print Hydra's tracebacks)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return full_env


def run_seg(*args: str, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m seg_cli ARGS` in `cwd` and return the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "seg_cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=cli_env(env))


def run_dirs(root: Path, command: str = "train") -> list[Path]:
    """Run directories `<root>/outputs/<command>/<date>/<time>` in creation order."""
    return sorted((root / "outputs" / command).glob("*/*"))


def train_tiny_checkpoint(root: Path) -> Path:
    """`seg train` with FAST_TRAIN in `root`; the best.pt it wrote (eval / predict / export tests start from it)."""
    result = run_seg("train", *FAST_TRAIN, cwd=root)
    assert result.returncode == 0, result.stderr
    return run_dirs(root)[-1] / "checkpoints" / "best.pt"


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def write_voc(root: Path, n_train: int = 4, n_val: int = 3, size: tuple[int, int] = (40, 52)) -> Path:
    """A VOCdevkit/VOC2012 tree with JPEGs, palette PNG masks (incl. 255 borders) and split lists."""
    from seg_cli.data.palette import palette_image

    voc = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ids = [f"2007_{i:06d}" for i in range(n_train + n_val)]
    h, w = size
    for i, name in enumerate(ids):
        mask = np.zeros((h, w), np.uint8)
        label = 1 + i % 20
        mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = label
        mask[h // 4, w // 4 : 3 * w // 4] = 255  # VOC marks object borders 'void'
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        image[mask == label] = (200, 30, 30)
        Image.fromarray(image).save(voc / "JPEGImages" / f"{name}.jpg")
        palette_image(mask).save(voc / "SegmentationClass" / f"{name}.png")
    (voc / "ImageSets/Segmentation/train.txt").write_text("\n".join(ids[:n_train]) + "\n")
    (voc / "ImageSets/Segmentation/val.txt").write_text("\n".join(ids[n_train:]) + "\n")
    return root / "VOCdevkit"


def assert_predicts_at_photo_size(ckpt: Path, root: Path, seg: Any) -> None:
    """`seg predict` of an odd-sized (61 x 37) photo with `ckpt` (through `seg`, a tests.seg_process.SegProcess
    in `root`) exits 0 and writes its outputs at that size."""
    Image.new("RGB", (61, 37), (90, 140, 30)).save(root / "photo.png")
    result = seg.run("predict", str(root / "photo.png"), f"ckpt={ckpt}", f"out={root / 'pred'}")
    assert result.returncode == 0, result.stderr
    written = list((root / "pred").rglob("*.png"))
    assert written and all(Image.open(path).size == (61, 37) for path in written)
