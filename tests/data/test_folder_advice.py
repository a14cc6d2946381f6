"""`dataset=folder` on masks that are not 0/1 or 0/255: the advice names dataset.task=multiclass (multi-class
masks) or dataset.threshold (anti-aliased 0/255 masks), and `folder` takes dataset.threshold."""

import numpy as np
import pytest
from PIL import Image

from seg_cli.data.folder import FolderSegmentation
from seg_cli.data.labels import suggest_convention
from seg_cli.data.paired import check_task
from seg_cli.errors import ConfigError, DataError
from tests.data.fixtures import write_folder
from tests.helpers import run_seg


def anti_aliased(root):
    """write_folder()'s 0/255 masks with the soft edges an image editor leaves (7 outside, 128 and 250 inside)."""
    root = write_folder(root)
    for path in sorted((root / "masks").glob("*.png")):
        mask = np.asarray(Image.open(path)).copy()
        rows, cols = np.nonzero(mask)
        mask[rows.min() - 1, cols.min() : cols.max()] = 7
        mask[rows.min(), cols.min() : cols.max()] = 128
        mask[rows.max(), cols.min() : cols.max()] = 250
        Image.fromarray(mask).save(path)
    return root


def test_multiclass_masks_in_a_binary_folder_name_task_multiclass(tmp_path):
    root = str(write_folder(tmp_path, values="multiclass"))
    dataset = FolderSegmentation(root, "train", val_fraction=0)
    with pytest.raises(DataError) as err:
        dataset[1]
    message = str(err.value)
    assert "img_001.png has values [2] but dataset.task=binary" in message
    assert "dataset.task=multiclass dataset.num_classes=N (N classes, at least 3)" in message
    assert "dataset.threshold=127" in message
    assert FolderSegmentation(root, "train", task="multiclass", num_classes=3, val_fraction=0)[1][1].max() == 2


def test_the_class_count_advice_does_not_loop():
    with pytest.raises(ConfigError) as err:
        check_task("binary", 3)
    assert "set dataset.task=multiclass (keeping dataset.num_classes=3)" in str(err.value)
    with pytest.raises(ConfigError, match=r"dataset.num_classes=1 with dataset.task=multiclass: give the number of "
                                          r"classes, background included \(>= 2\)"):
        check_task("multiclass", 1)


def test_anti_aliased_masks_name_the_threshold_and_read_with_it(tmp_path):
    root = str(anti_aliased(tmp_path))
    with pytest.raises(DataError, match=r"img_000.png has values \[7, 128, 250\] but dataset.task=binary .*"
                                        r"set dataset.threshold=127"):
        FolderSegmentation(root, "train", val_fraction=0)[0]
    dataset = FolderSegmentation(root, "train", val_fraction=0, threshold=127)
    stored = np.asarray(Image.open(dataset.pairs[0][1]))
    mask = dataset[0][1].numpy()
    assert set(np.unique(mask).tolist()) == {0, 1} and ((stored > 127) == (mask == 1)).all()


def test_one_anti_aliased_mask_among_0_255_masks_names_the_threshold(tmp_path):
    root = write_folder(tmp_path)
    mask = np.asarray(Image.open(root / "masks/img_009.png")).copy()
    mask[0, :3] = (7, 128, 250)
    Image.fromarray(mask).save(root / "masks/img_009.png")
    dataset = FolderSegmentation(str(root), "train", val_fraction=0)
    with pytest.raises(DataError, match=r"img_009.png has values \[7, 128, 250\]; the other masks of this dataset "
                                        r"hold only 0 and 255 .*set dataset.threshold=127"):
        dataset[9]


@pytest.mark.parametrize("values,message", [
    ({"threshold": 300}, r"dataset.threshold=300 is not allowed; give a grey level 0..254"),
    ({"threshold": "half"}, r"dataset.threshold='half' is not allowed"),
    ({"threshold": 127, "task": "multiclass", "num_classes": 3},
     r"dataset.threshold=127 makes two labels \(0/1\) but dataset.task=multiclass dataset.num_classes=3 has 3"),
])
def test_bad_thresholds_name_the_key(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        FolderSegmentation(str(write_folder(tmp_path)), "train", **values)


def test_check_hints_name_task_multiclass_for_a_binary_dataset():
    hints = suggest_convention({0, 1, 2, 255}, 2, 255, task="binary")
    assert hints == ["class indices up to 2: set dataset.task=multiclass dataset.num_classes=N (N classes, at least "
                     "3); grey levels or anti-aliased 0/255 masks: set dataset.threshold=127"]
    assert not any("num_classes" in h for h in suggest_convention({0, 1, 255}, 2, 255, task="binary"))


def check_steps(tmp_path, steps) -> None:
    """Run `seg data check dataset=folder` with each step's overrides: exit status and a line to find."""
    for overrides, status, expected in steps:
        result = run_seg("data", "check", "dataset=folder", *overrides, cwd=tmp_path)
        assert result.returncode == status, (overrides, result.stderr[-1500:])
        assert expected in result.stdout + result.stderr, (overrides, result.stdout[-1500:], result.stderr[-500:])
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_cli_advice_on_multiclass_masks_leads_to_a_passing_check(tmp_path):
    root = write_folder(tmp_path / "multi", values="multiclass")
    check_steps(tmp_path, [
        ([f"dataset.root={root}"], 1, "dataset.task=multiclass dataset.num_classes=N"),
        ([f"dataset.root={root}", "dataset.num_classes=3"], 1, "set dataset.task=multiclass"),
        ([f"dataset.root={root}", "dataset.task=multiclass", "dataset.num_classes=3"], 0, "no problems found"),
    ])


@pytest.mark.slow
def test_the_cli_advice_on_anti_aliased_masks_leads_to_a_passing_check(tmp_path):
    root = anti_aliased(tmp_path / "soft")
    check_steps(tmp_path, [
        ([f"dataset.root={root}"], 1, "dataset.threshold=127"),
        ([f"dataset.root={root}", "dataset.threshold=127"], 0, "no problems found"),
    ])
