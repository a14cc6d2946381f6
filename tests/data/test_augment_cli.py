"""`augment=` through the real CLI: bad entries stop with one line, `seg data show` draws augmented samples,
and a checkpoint from before the augment group resumes."""

import pytest
import torch
from PIL import Image

from tests.helpers import FAST_TRAIN, run_dirs, run_seg

SMALL_SYNTHETIC = ["dataset.train_size=6", "dataset.val_size=3", "dataset.min_side=40", "dataset.max_side=56"]


def test_a_bad_step_stops_seg_train_with_one_line_naming_the_key(tmp_path):
    result = run_seg("train", *FAST_TRAIN, "augment=strong", "augment.steps.3.p=2", cwd=tmp_path)
    assert result.returncode == 1
    assert "seg: error: augment.steps[3].p=2 is not allowed; give a probability in [0, 1]" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("outputs/train/*/*/checkpoints"))  # stopped before training started


def test_show_with_augment_draws_samples_through_the_training_pipeline(tmp_path):
    """(Plain `seg data show`, samples as read, is tests/commands/test_data_tools.py's.)"""
    out = tmp_path / "strong.png"
    result = run_seg("data", "show", *SMALL_SYNTHETIC, "n=3", "columns=2", "cell_size=32", f"out={out}",
                     "augment=strong", "dataset.crop_size=40", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(each: image | mask, augmented by augment=strong seed=0)" in result.stdout
    grid = Image.open(out).convert("RGB")
    assert grid.size == (2 * 2 * 32, 2 * 32)
    # 40 x 40 crops fill their tiles; rotation leaves ignore-coloured corners in some mask tiles
    assert len(grid.getcolors(maxcolors=4096) or range(4097)) > 8


@pytest.mark.slow
def test_a_checkpoint_without_augment_resumes_with_the_dataset_preset(seg, tmp_path):
    first = seg.run("train", *FAST_TRAIN)
    assert first.returncode == 0, first.stderr
    last = run_dirs(tmp_path)[-1] / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["config"]["augment"]  # as saved before configs/augment existed
    torch.save(state, last)
    resumed = seg.run("train", *FAST_TRAIN, "train.epochs=2", f"train.resume={last}")
    assert resumed.returncode == 0, resumed.stderr
