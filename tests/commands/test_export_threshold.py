"""`seg export` carries a binary model's max-F threshold, so ONNX masks equal PyTorch's; a stored threshold of 0
or 1 falls back to 0.5 with a warning; the export names the checkpoint it used last (issue 21: 6, 15)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_cli.checkpoint import load_checkpoint, save_checkpoint
from seg_cli.export.exporters import model_metadata
from seg_cli.metrics.threshold import checkpoint_threshold
from tests.helpers import FAST_TRAIN, run_dirs, run_seg

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def binary_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("binary")
    result = run_seg("train", *FAST_TRAIN, "dataset=synthetic_binary", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def photo(binary_root) -> Path:
    path = binary_root / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (44, 52, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def at_half(binary_root, photo) -> tuple[np.ndarray, np.ndarray]:
    """(8-bit probability, mask) of the checkpoint's PyTorch prediction at threshold=0.5."""
    out = binary_root / "half"
    result = run_seg("predict", str(photo), "threshold=0.5", "save=[prob,mask]", f"out={out}", cwd=binary_root)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.asarray(Image.open(out / "photo_prob.png")), np.asarray(Image.open(out / "photo.png"))


def best_pt(root: Path) -> Path:
    return run_dirs(root)[-1] / "checkpoints" / "best.pt"


def with_threshold(root: Path, threshold: float, path: Path) -> Path:
    """A copy of the run's best.pt whose validation found `threshold`."""
    state = load_checkpoint(best_pt(root))
    state["progress"]["last_metrics"].update(best_threshold=threshold, sod_normalize="none")
    save_checkpoint(state, path)
    return path


def export(root: Path, *args: str) -> tuple[dict, str]:
    """(the ONNX file's seg metadata, stdout) of `seg export ARGS` in `root`."""
    from seg_cli.export.onnx_runtime import OnnxSegmenter

    result = run_seg("export", *args, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    [written] = [line.split()[3] for line in result.stdout.splitlines() if line.startswith("seg export: wrote ")]
    return OnnxSegmenter(written).metadata, result.stdout


def predict_mask(root: Path, photo: Path, out: Path, *args: str) -> tuple[np.ndarray, str]:
    """(binary mask, log) of `seg predict PHOTO save=mask ARGS`."""
    result = run_seg("predict", str(photo), "save=mask", f"out={out}", *args, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.asarray(Image.open(out / "photo.png")), result.stdout + result.stderr


@pytest.mark.slow
def test_onnx_masks_use_the_checkpoints_threshold_and_equal_pytorchs(binary_root, photo, at_half, tmp_path):
    prob8, half_mask = at_half
    # A threshold halfway between 8-bit levels (so prob >= it is prob8 > level), the one of these far from 0.5
    levels = np.unique(np.percentile(prob8, [10, 25, 50, 75, 90]).astype(int))
    level = max(levels, key=lambda v: abs((prob8 > v).mean() - (half_mask > 0).mean()))
    threshold = float((level + 0.5) / 255)
    crafted = with_threshold(binary_root, threshold, tmp_path / "crafted.pt")
    metadata, _ = export(binary_root, f"ckpt={crafted}", f"out={tmp_path / 'model.onnx'}")
    assert metadata["best_threshold"] == threshold

    torch_mask, _ = predict_mask(binary_root, photo, tmp_path / "t", f"ckpt={crafted}")
    onnx_mask, log = predict_mask(binary_root, photo, tmp_path / "o", "backend=onnx",
                                  f"model_file={tmp_path / 'model.onnx'}")
    assert f"prob >= {threshold:.4f} (the checkpoint's max-F threshold" in log
    assert np.array_equal(onnx_mask, torch_mask)
    assert np.array_equal(torch_mask > 0, prob8 > level)
    assert (torch_mask != half_mask).mean() > 0.05  # the threshold really changes masks: 0.5 would not do


@pytest.mark.slow
def test_a_stored_threshold_of_0_falls_back_to_half_with_one_warning(binary_root, photo, at_half, tmp_path):
    """What short runs stored; 1 and values outside [0, 1] are tests/metrics/test_threshold.py's."""
    stored = 0.0
    crafted = with_threshold(binary_root, stored, tmp_path / "degenerate.pt")
    metadata, _ = export(binary_root, f"ckpt={crafted}", f"out={tmp_path / 'model.onnx'}")
    assert metadata["best_threshold"] == stored  # stored as found; predict decides what to use
    backends = {"torch": [f"ckpt={crafted}"], "onnx": ["backend=onnx", f"model_file={tmp_path / 'model.onnx'}"]}
    for name, args in backends.items():
        mask, log = predict_mask(binary_root, photo, tmp_path / name, *args)
        warnings = [line for line in log.splitlines() if "WARNING" in line]
        assert len(warnings) == 1 and f"max-F threshold {stored:.4f}" in warnings[0]
        assert "threshold=VALUE" in warnings[0]
        assert np.array_equal(mask, at_half[1])  # not all foreground (or none): masks cut at 0.5


@pytest.mark.slow
def test_argument_less_export_names_its_checkpoint_on_the_last_line(binary_root):
    metadata, stdout = export(binary_root)
    best = best_pt(binary_root)
    assert stdout.strip().splitlines()[-1] == f"seg export: from checkpoint {best.resolve()}"
    assert metadata["best_threshold"] == checkpoint_threshold(load_checkpoint(best))  # the run's own, as found


def test_only_binary_metadata_carries_a_threshold():
    binary = {"dataset": {"task": "binary", "num_classes": 1, "base_size": 48}, "model": {}}
    multiclass = {"dataset": {"num_classes": 4, "base_size": 48}, "model": {}}
    assert model_metadata(binary, 0.3)["best_threshold"] == 0.3
    assert model_metadata(binary)["best_threshold"] is None  # said, not left out: the checkpoint stores none
    assert "best_threshold" not in model_metadata(multiclass, 0.3)
    json.dumps(model_metadata(binary, 0.3))  # what both ONNX and TorchScript files store
