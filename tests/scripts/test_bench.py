"""scripts/bench.py runs end to end in a tiny configuration and ends with one JSON line of positive numbers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
REQUIRED = ("compute_train_ips", "train_ips", "compute_eval_ips", "eval_ips", "confmat_frac", "help_s",
            "peak_rss_mib", "train_help_s", "predict_ms", "train_frac", "eval_frac", "loader_ips", "loader_cold_ips",
            "eval_first_ips", "eval_replay_ips", "eval_first_frac", "eval_replay_frac", "bare_train_ips", "bare_frac")


@pytest.mark.slow
def test_bench_tiny_run_ends_with_json_of_positive_numbers(tmp_path):
    args = ["--model", "unet_small", "--batch", "2", "--crop", "64", "--steps", "3", "--warmup", "1",
            "--workers", "1", "--eval-images", "4", "--predict-images", "2", "--repeats", "1", "--rounds", "2", "--startup", "help",
            "--device", "cpu", "dataset.train_size=8", "dataset.val_size=4"]
    result = subprocess.run([sys.executable, str(BENCH), *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    numbers = json.loads(lines[-1])
    for key in REQUIRED:
        value = numbers[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)
    assert numbers["batch"] == 2 and numbers["crop"] == 64 and numbers["model"] == "unet_small"
    assert "compute_train_ips" in result.stdout.split(lines[-1])[0]  # the table comes before the JSON
    assert not list(tmp_path.iterdir()), "the bench must not write into the working directory"


@pytest.mark.slow
def test_bench_train_only_times_an_smp_model_against_its_bare_step(tmp_path):
    args = ["--model", "smp", "--batch", "2", "--crop", "64", "--steps", "2", "--warmup", "1", "--workers", "0",
            "--rounds", "1", "--train-only", "--device", "cpu", "dataset.train_size=4", "dataset.val_size=2"]
    result = subprocess.run([sys.executable, str(BENCH), *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    assert numbers["bare_train_ips"] > 0 and numbers["bare_frac"] > 0 and "eval_ips" not in numbers


@pytest.mark.slow
def test_bench_knobs_workers_experiment_times_ceiling_and_each_worker_count(tmp_path):
    knobs = BENCH.with_name("bench_knobs.py")
    args = ["--model", "unet_small", "--batch", "2", "--crop", "64", "--device", "cpu", "--only", "workers,confmat",
            "--repeats", "1", "--steps", "2", "--eval-images", "2", "--workers-alt", "0,1",
            "dataset.train_size=8", "dataset.val_size=4"]
    result = subprocess.run([sys.executable, str(knobs), *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    workers = json.loads(result.stdout.strip().splitlines()[-1])["workers"]
    assert sorted(workers) == sorted(["train, ceiling (ms/img)", "train, 0 workers (ms/img)", "train, 1 workers (ms/img)",
                                      "eval, forward only (ms/img)", "eval, 0 workers (ms/img)",
                                      "eval, 1 workers (ms/img)"])
    assert all(math.isfinite(ms) and ms > 0 for ms in workers.values())
