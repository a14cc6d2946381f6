"""scripts/bench_video.py runs `seg predict`'s video path on a generated clip and ends with one JSON line."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench_video.py"


@pytest.mark.slow
def test_bench_video_tiny_run_reports_rates_and_overhead(tmp_path):
    args = ["--size", "64", "--batch", "2", "--frames", "6", "--rounds", "1", "--device", "cpu"]
    result = subprocess.run([sys.executable, str(BENCH), *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("forward_fps", "e2e_fps", "decode_fps", "encode_fps"):
        assert math.isfinite(numbers[key]) and numbers[key] > 0, key
    assert numbers["e2e_fps"] < numbers["forward_fps"] * 1.5 and math.isfinite(numbers["overhead"])
    assert 0 < numbers["codec_share"] < 10
    assert numbers["save"] == ["overlay", "color"] and not list(tmp_path.iterdir())
