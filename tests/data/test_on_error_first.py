"""Issue 21 item 5: `data.on_error=skip` skips an unreadable FIRST sample too (the start-up check of the
first sample follows on_error)."""

import pytest
import torch

from seg_cli.data.base import SegmentationDataset
from seg_cli.errors import DataError
from tests.helpers import FAST_VOC, read_metrics, run_dirs, run_seg, write_voc


class Broken(SegmentationDataset):
    """Four samples; those in `unreadable` fail as a corrupt file does."""

    def __init__(self, unreadable: set[int]) -> None:
        super().__init__("train", num_classes=2)
        self.unreadable = unreadable

    def __len__(self) -> int:
        return 4

    def load_pair(self, index: int):
        if index in self.unreadable:
            raise DataError(f"cannot read image img_{index}.jpg: truncated")
        return torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(4, 4, dtype=torch.uint8)

    def sample_name(self, index: int) -> str:
        return f"img_{index}.jpg"


def test_the_start_up_check_skips_an_unreadable_first_sample_with_skip_and_counts_nothing():
    dataset = Broken({0, 1})
    dataset.on_error = "skip"
    dataset.check_first_sample()
    assert dataset.skipped == 0  # the epoch that meets the sample counts it, once


def test_the_start_up_check_names_the_first_sample_with_raise():
    dataset = Broken({0})
    with pytest.raises(DataError, match="img_0.jpg"):
        dataset.check_first_sample()


def test_the_start_up_check_fails_when_skip_leaves_no_readable_sample():
    dataset = Broken({0, 1, 2, 3})
    dataset.on_error = "skip"
    with pytest.raises(DataError, match="no readable sample in the train split"):
        dataset.check_first_sample()


def test_seg_train_with_skip_trains_past_an_unreadable_first_image(tmp_path):
    devkit = write_voc(tmp_path / "data")
    voc = devkit / "VOC2012"
    first = (voc / "ImageSets/Segmentation/train.txt").read_text().split()[0]
    (voc / "JPEGImages" / f"{first}.jpg").write_bytes(b"\x00garbage")
    result = run_seg("train", "dataset=voc", f"dataset.root={devkit}", *FAST_VOC, "data.on_error=skip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["skipped_samples"] == 1
    assert f"skipped: cannot read image {voc / 'JPEGImages' / first}.jpg" in result.stdout


@pytest.mark.slow
def test_skip_also_goes_on_past_a_listed_file_that_does_not_exist(tmp_path):
    devkit = write_voc(tmp_path / "data")
    voc = devkit / "VOC2012"
    first = (voc / "ImageSets/Segmentation/train.txt").read_text().split()[0]
    (voc / "JPEGImages" / f"{first}.jpg").unlink()
    result = run_seg("train", "dataset=voc", f"dataset.root={devkit}", *FAST_VOC, "data.on_error=skip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 file(s) listed in the train split do not exist" in result.stdout
    assert read_metrics(run_dirs(tmp_path)[-1])["skipped_samples"] == 1


@pytest.mark.slow
def test_skip_goes_on_past_an_unreadable_first_mask_of_a_folder(tmp_path):
    from tests.data.fixtures import write_folder

    root = write_folder(tmp_path / "mine")
    (root / "masks" / "img_000.png").write_bytes(b"\x00junk")  # the 0/255 probe reads the first masks
    fast = ["model=unet", "model.base_channels=4", "model.depth=2", "train.epochs=1", "train.batch_size=2",
            "train.workers=0", "train.progress=false", "dataset.base_size=32", "dataset.crop_size=32"]
    result = run_seg("train", "dataset=folder", f"dataset.root={root}", *fast, "data.on_error=skip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["skipped_samples"] >= 1
