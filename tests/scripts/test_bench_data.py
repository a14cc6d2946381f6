"""scripts/bench_data.py times seg's data path at real sizes and ends with one JSON line of positive rates."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench_data.py"


@pytest.mark.slow
def test_bench_data_reports_cold_and_cached_rates(tmp_path):
    result = subprocess.run([sys.executable, str(BENCH), "--images", "2", "--repeats", "1"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("cityscapes_cold", "cityscapes_cached", "voc_cold", "voc_cached"):
        assert numbers[key] > 0, key
    assert numbers["cityscapes_cached"] > numbers["cityscapes_cold"]  # the cache skips PNG decoding
