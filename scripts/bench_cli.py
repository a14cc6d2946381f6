"""Latency of the `seg` command line (issue #5): start-up, `--help`, and `seg predict` per image.

    python scripts/bench_cli.py --command train --repeats 7

Run directly, it breaks a command's start-up down: Python itself, `seg --help`, importing the command
module (Hydra included), `seg COMMAND --help` and `seg COMMAND --cfg job` (a full Hydra composition).
scripts/bench.py imports `startup_times` and `predict_ms` from here. Prints best-of-N wall times, then
one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

TINY_TRAIN = ["train.epochs=1", "train.batch_size=2", "train.workers=0", "train.progress=false",
              "dataset.train_size=2", "dataset.val_size=1", "dataset.min_side=64", "dataset.max_side=64",
              "dataset.base_size=64", "dataset.crop_size=64"]  # one step and one val image on the synthetic set


def best_wall_time(argv: list[str], repeats: int, cwd: Path | None = None) -> float:
    """Best wall time in seconds of running `argv` (output discarded, must succeed)."""
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def startup_times(model: str, device: str, repeats: int, train_start: bool, cwd: Path) -> dict[str, float | None]:
    """`seg --help`, `seg train --help` and (train_start) a complete one-step `seg train` of `model`."""
    seg = [sys.executable, "-m", "seg_cli"]
    tiny = [f"model={model}", f"train.device={device}", *TINY_TRAIN]
    return {"help_s": best_wall_time([*seg, "--help"], repeats, cwd),
            "train_help_s": best_wall_time([*seg, "train", "--help"], repeats, cwd),
            "train_start_s": best_wall_time([*seg, "train", *tiny], repeats, cwd) if train_start else None}


def predict_ms(model, config: dict[str, Any], device, images: int, repeats: int, work: Path) -> float:
    """ms per image of the real `seg predict` on val images saved as JPEG: in-process, clock from its
    first image read to its return (checkpoint loading excluded), best of `repeats`."""
    import torch
    from PIL import Image

    import seg_cli.data.io
    from seg_cli import cli
    from seg_cli.checkpoint import save_checkpoint
    from seg_cli.data.build import build_dataset

    ckpt, folder = work / "bench.pt", work / "images"
    save_checkpoint({"model": model.state_dict(), "config": config}, ckpt)
    folder.mkdir(exist_ok=True)
    dataset = build_dataset(config["dataset"], "val", train=False)
    for i in range(min(images, len(dataset))):
        Image.fromarray(dataset.load_pair(i)[0].permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.jpg", quality=90)
    starts, load_image, best = [], seg_cli.data.io.load_image, float("inf")

    def timed_load(*a, **kw):
        starts.append(time.perf_counter())
        return load_image(*a, **kw)

    argv = ["predict", str(folder), f"ckpt={ckpt}", f"out={work / 'masks'}", f"device={device}",
            f"hydra.run.dir={work / 'predict'}"]
    for _ in range(max(1, repeats)):
        starts.clear()
        with mock.patch.object(seg_cli.data.io, "load_image", timed_load), mock.patch.object(sys, "argv", sys.argv), \
                contextlib.redirect_stdout(io.StringIO()):
            cli.main(argv)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - starts[0]) / len(starts))
    return 1000 * best


def help_breakdown(command: str, repeats: int) -> dict[str, float]:
    """Best wall times of Python's start-up, `seg --help`, importing the command's module (Hydra and
    all: what any real run of it pays before work starts) and `seg COMMAND --help`."""
    python, module = sys.executable, f"importlib.import_module(c.COMMANDS['{command}'][0])"
    return {
        "python_startup_s": best_wall_time([python, "-c", "pass"], repeats),
        "seg_help_s": best_wall_time([python, "-m", "seg_cli", "--help"], repeats),
        "import_command_s": best_wall_time([python, "-c", f"import importlib, seg_cli.cli as c; {module}"], repeats),
        "command_help_s": best_wall_time([python, "-m", "seg_cli", command, "--help"], repeats),
        "command_cfg_job_s": best_wall_time([python, "-m", "seg_cli", command, "--cfg", "job"], repeats),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--command", default="train", help="seg command whose start-up is timed")
    p.add_argument("--repeats", type=int, default=7, help="runs per timing (best kept)")
    args = p.parse_args(argv)
    timings = help_breakdown(args.command, args.repeats)
    for key, value in timings.items():
        print(f"{key:<20} {value:6.3f}")
    print(json.dumps(timings))
    return timings


if __name__ == "__main__":
    main()
