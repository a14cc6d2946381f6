"""Faults lose nothing: SIGKILL mid-epoch + resume is bitwise exact, SIGTERM saves and exits cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import run_dirs, run_seg

# 16 images / batch 2 = 8 steps per epoch; a checkpoint after every step.
DETERMINISTIC = [
    "seed=0", "train.deterministic=true", "train.epochs=2", "train.batch_size=2", "train.workers=0",
    "train.progress=false", "train.checkpoint_every=1", "dataset.train_size=16", "dataset.val_size=4",
    "dataset.min_side=64", "dataset.max_side=80", "dataset.base_size=72", "dataset.crop_size=64",
]


def start_seg(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.Popen([sys.executable, "-m", "seg_cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(root: Path, process: subprocess.Popen, condition, timeout: float = 300) -> dict:
    """Poll the run's last.pt until `condition(progress)` holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in root.glob("outputs/train/*/*/checkpoints/last.pt"):
            try:
                progress = torch.load(path, weights_only=True)["progress"]
            except Exception:  # replaced while reading
                continue
            if condition(progress):
                return progress
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError("checkpoint condition never met")


def final_state(run: Path) -> tuple[dict, dict]:
    ckpt = torch.load(run / "checkpoints/last.pt", weights_only=True)
    metrics = json.loads((run / "metrics.json").read_text())
    return ckpt["model"], metrics


def run_killed_and_resumed(tmp_path: Path, args: list[str], kill_when) -> tuple[Path, Path, dict]:
    """An uninterrupted reference run, and a run SIGKILLed once `kill_when(progress)` holds, then resumed.
    Returns (reference run dir, resumed run dir, the last.pt the killed run left)."""
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    reference.mkdir()
    interrupted.mkdir()
    result = run_seg("train", *args, cwd=reference)
    assert result.returncode == 0, result.stderr
    process = start_seg("train", *args, cwd=interrupted)
    wait_for_checkpoint(interrupted, process, kill_when)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(next(interrupted.glob("outputs/train/*/*/checkpoints/last.pt")), weights_only=True)
    resumed = run_seg("train", *args, "train.resume=auto", cwd=interrupted)
    assert resumed.returncode == 0, resumed.stderr
    return run_dirs(reference)[-1], run_dirs(interrupted)[-1], killed_at


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_bitwise_identical_weights(tmp_path):
    reference, resumed, killed_at = run_killed_and_resumed(
        tmp_path, DETERMINISTIC, lambda p: p["epoch"] == 1 and p["epoch_samples"] >= 4)
    assert killed_at["progress"]["epoch"] == 1 and 0 < killed_at["progress"]["epoch_samples"] < 16
    weights_ref, metrics_ref = final_state(reference)
    weights_new, metrics_new = final_state(resumed)
    assert weights_ref.keys() == weights_new.keys()
    for key in weights_ref:
        assert torch.equal(weights_ref[key], weights_new[key]), key
    assert metrics_new == metrics_ref


@pytest.mark.slow
def test_sigterm_saves_last_checkpoint_and_exits_cleanly(tmp_path):
    process = start_seg("train", *DETERMINISTIC, "train.epochs=50", "train.checkpoint_every=0", cwd=tmp_path)
    time.sleep(0.5)
    wait_for_checkpoint(tmp_path, process, lambda p: p["epoch"] >= 1)  # end-of-epoch save exists
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    last = next(tmp_path.glob("outputs/train/*/*/checkpoints/last.pt"))
    assert "interrupted by signal 15" in stderr and f"continue with: seg train train.resume={last}" in stderr
    assert "Traceback" not in stderr
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["progress"]["global_step"] >= 8
    epochs = ckpt["progress"]["epoch"] + 1
    resumed = run_seg("train", f"train.resume={last}", f"train.epochs={epochs}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_two_runs_started_together_get_separate_run_dirs(tmp_path):
    from tests.helpers import FAST_TRAIN

    processes = [start_seg("train", *FAST_TRAIN, cwd=tmp_path) for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.communicate()
    runs = run_dirs(tmp_path)
    assert len(runs) == 2
    assert all((run / "metrics.json").is_file() and (run / "checkpoints/last.pt").is_file() for run in runs)


# 13 steps (8 an epoch): the run ends mid-epoch 2; evaluations at steps 5, 10 and 13; EMA weights.
STEP_BUDGET = [a for a in DETERMINISTIC if not a.startswith("train.epochs=")] + [
    "train.max_steps=13", "train.eval_every_steps=5", "train.ema.decay=0.9"]


@pytest.mark.slow
def test_a_step_budget_run_with_ema_resumes_bitwise_exactly_after_sigkill(tmp_path):
    reference, resumed, killed_at = run_killed_and_resumed(
        tmp_path, STEP_BUDGET, lambda p: p["global_step"] >= 11)  # after the step-10 evaluation
    assert 11 <= killed_at["progress"]["global_step"] < 13 and "raw_model" in killed_at
    ref = torch.load(reference / "checkpoints/last.pt", weights_only=True)
    new = torch.load(resumed / "checkpoints/last.pt", weights_only=True)
    assert ref["progress"]["global_step"] == new["progress"]["global_step"] == 13
    for part in ("model", "raw_model"):  # the average and the trained weights
        for key in ref[part]:
            assert torch.equal(ref[part][key], new[part][key]), (part, key)
    assert not all(torch.equal(ref["model"][k], ref["raw_model"][k]) for k in ref["model"])
    _, metrics_ref = final_state(reference)
    _, metrics_new = final_state(resumed)
    assert metrics_new == metrics_ref
