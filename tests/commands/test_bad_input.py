"""The bad-input catalogue: each case ends with one clear line, a non-zero exit, and nothing corrupted.

(More cases live next to their code: tests/data/test_io.py, tests/engine/test_checkpoint.py and the
error table of tests/commands/test_cli.py.)
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import (
    FAST_TRAIN,
    FAST_VOC,
    read_metrics,
    run_dirs,
    run_seg,
    train_tiny_checkpoint,
    write_voc,
)

VOC_IDS = [f"2007_{i:06d}" for i in range(7)]


def expect_clean_failure(result, message: str) -> None:
    assert result.returncode != 0, result.stdout[-2000:]
    assert message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- datasets ---------------------------------------------------------------------------------

def _voc(tmp_path: Path) -> Path:
    return write_voc(tmp_path / "data") / "VOC2012"


def remove_image(voc): (voc / "JPEGImages" / f"{VOC_IDS[1]}.jpg").unlink()
def remove_mask(voc): (voc / "SegmentationClass" / f"{VOC_IDS[2]}.png").unlink()
def empty_split(voc): (voc / "ImageSets/Segmentation/train.txt").write_text("\n")
def random_bytes_image(voc): (voc / "JPEGImages" / f"{VOC_IDS[0]}.jpg").write_bytes(np.random.bytes(300))
def zero_byte_mask(voc): (voc / "SegmentationClass" / f"{VOC_IDS[0]}.png").write_bytes(b"")


def truncated_image(voc):
    path = voc / "JPEGImages" / f"{VOC_IDS[0]}.jpg"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def label_out_of_range(voc):
    mask = np.zeros((40, 52), np.uint8)
    mask[:5, :5] = 42
    from seg_cli.data.palette import palette_image

    palette_image(mask).save(voc / "SegmentationClass" / f"{VOC_IDS[0]}.png")


def size_mismatch(voc):
    Image.new("RGB", (30, 30)).save(voc / "JPEGImages" / f"{VOC_IDS[0]}.jpg")


def rgb_mask(voc):
    Image.new("RGB", (52, 40)).save(voc / "SegmentationClass" / f"{VOC_IDS[0]}.png")


@pytest.mark.parametrize("mutate,message", [
    (remove_image, "do not exist, e.g."),
    (remove_mask, f"{VOC_IDS[2]}.png"),
    (empty_split, "is empty"),
    (random_bytes_image, "cannot read image"),
    (truncated_image, "cannot read image"),
    (zero_byte_mask, "cannot read mask"),
    (label_out_of_range, "has label values [42] outside [0, 21)"),
    (size_mismatch, "image is (30, 30) but its mask is (40, 52)"),
    (rgb_mask, "expected a single-channel (palette or grayscale) PNG (colour-coded masks: set dataset.palette="),
])
def test_bad_dataset_files_are_named(tmp_path, mutate, message):
    voc = _voc(tmp_path)
    mutate(voc)
    result = run_seg("train", "dataset=voc", f"dataset.root={voc}", *FAST_VOC, cwd=tmp_path)
    expect_clean_failure(result, message)
    assert not list(tmp_path.glob("outputs/train/*/*/checkpoints"))


def test_on_error_skip_logs_counts_and_continues(tmp_path):
    voc = _voc(tmp_path)
    (voc / "JPEGImages" / f"{VOC_IDS[2]}.jpg").write_bytes(b"\x00garbage")
    result = run_seg("train", "dataset=voc", f"dataset.root={voc}", *FAST_VOC, "data.on_error=skip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["skipped_samples"] >= 1
    assert "skipped: cannot read image" in result.stdout + result.stderr


def test_binary_0_255_masks_in_a_two_label_dataset_are_mapped_with_a_notice(tmp_path):
    voc = _voc(tmp_path)
    from seg_cli.data.palette import palette_image

    for name in VOC_IDS:
        mask = np.zeros((40, 52), np.uint8)
        mask[10:30, 10:40] = 255
        palette_image(mask).save(voc / "SegmentationClass" / f"{name}.png")
    result = run_seg("train", "dataset=voc", f"dataset.root={voc}", "dataset.num_classes=2",
                     "dataset.class_names=[background,object]", *FAST_VOC, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reading 255 as label 1, not as ignore" in result.stdout + result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["per_class_iou"]["object"] is not None


# ---- config -----------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,message", [
    (["train.epochs=many"], "train.epochs"),
    (["train.batch_size=0"], "train.batch_size=0 must be > 0"),
    (["dataset.crop_size=8"], "dataset.crop_size=8 is too small"),
    (["dataset.crop_size=100000"], "crops would be mostly padding"),
    (["train.best_metric=accuracy"], "train.best_metric='accuracy' is not allowed; choose from: auto, miou"),
    (["train.batch_size=1", "model=deeplabv3_mobilenet_v3_large", *FAST_TRAIN[4:]],
     "train.batch_size=1: BatchNorm layer classifier.0.convs.4.2 sees one value per channel"),
    (["data.on_error=ignore"], "data.on_error='ignore' is not allowed"),
    (["data.cache_mib=-1"], "data.cache_mib=-1"),
    (["dataset.class_names=[a,b]"], "dataset.class_names has 2 names but the dataset has 4 labels"),
    (["loss=bce"], "loss=bce is for binary tasks but dataset.task=multiclass; choose a loss for multiclass tasks: "
                   "loss=auto, loss=ce_dice, loss=cross_entropy"),
    (["dataset=synthetic_binary", "dataset.num_classes=2", "dataset.class_names=[a,b]"], "set dataset.num_classes=1"),
    (["train.resume=/no/such/last.pt"], "train.resume=/no/such/last.pt: file not found"),
    (["scheduler=step"], "Available options in 'scheduler'"),
])
def test_bad_config_fails_before_any_work_naming_the_key(tmp_path, overrides, message):
    result = run_seg("train", *overrides, cwd=tmp_path)
    expect_clean_failure(result, message)
    assert not list(tmp_path.glob("outputs/train/*/*/checkpoints"))


# ---- checkpoints ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return train_tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def _text_file(path, real): path.write_text("hello")
def _truncated(path, real): path.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
def _state_dict_only(path, real): torch.save(torch.load(real, weights_only=True)["model"], path)


def _pickled_object(path, real):
    import os
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    torch.save({"model": Payload()}, path, pickle_module=pickle)


@pytest.mark.parametrize("make,message", [
    (_text_file, "is not a readable checkpoint"),
    (_truncated, "is not a readable checkpoint"),
    (_state_dict_only, "is not a seg checkpoint"),
    (_pickled_object, "refused for safety"),
])
def test_bad_checkpoints_are_refused_and_left_untouched(tmp_path, checkpoint, make, message):
    path = tmp_path / "bad.pt"
    make(path, checkpoint)
    before = digest(path)
    result = run_seg("eval", f"ckpt={path}", "workers=0", cwd=tmp_path)
    expect_clean_failure(result, message)
    assert digest(path) == before
    assert "owned" not in result.stdout


def test_checkpoint_for_another_class_count_is_explained(tmp_path, checkpoint):
    copy = tmp_path / "best.pt"
    shutil.copy(checkpoint, copy)
    result = run_seg("eval", f"ckpt={copy}", "model.num_classes=7", "workers=0", cwd=tmp_path)
    expect_clean_failure(result, "another model or class count")
    assert digest(copy) == digest(checkpoint)


# ---- predict ----------------------------------------------------------------------------------

def test_predict_reports_each_bad_file_and_predicts_the_rest(tmp_path, checkpoint):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("RGB", (24, 20), (200, 10, 10)).save(inputs / "good.jpg")
    (inputs / "notes.txt").write_text("not an image")
    (inputs / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(500))
    (inputs / "empty.png").write_bytes(b"")
    Image.new("RGB", (40, 40)).save(inputs / "huge.png")
    out = tmp_path / "out"
    result = run_seg("predict", str(inputs), str(inputs / "notes.txt"), f"ckpt={checkpoint}", f"out={out}",
                     "max_pixels=1000", cwd=tmp_path)
    assert result.returncode == 1
    log = result.stdout + result.stderr
    for name in ("notes.txt", "noise.jpg", "empty.png"):
        assert f"cannot read image {inputs / name}" in log
    assert "huge.png is 40x40, over the limit of 1000 pixels" in log
    assert "4 of 5 input(s) could not be read" in result.stderr
    assert (out / "good.png").is_file() and "Traceback" not in result.stderr
