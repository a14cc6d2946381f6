"""The accuracy the README promises, measured by the real CLI (slow: minutes on 2 CPU cores)."""

import pytest

from tests.helpers import read_metrics, run_dirs, run_seg


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_default_seg_train_reaches_miou_080(tmp_path):
    result = run_seg("train", "train.progress=false", cwd=tmp_path, timeout=2300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["miou"] >= 0.80


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_binary_synthetic_reaches_max_f_090(tmp_path):
    result = run_seg("train", "dataset=synthetic_binary", "train.epochs=5", "train.progress=false",
                     cwd=tmp_path, timeout=2300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["max_f"] >= 0.90
