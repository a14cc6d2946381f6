"""PairedFolders (one folder per split, e.g. DUTS and HK) and configs of the classes it replaced."""

import pytest
import torch

from seg_cli.data.build import build_dataset
from seg_cli.data.paired import PairedFolders, describe_splits
from seg_cli.errors import DataError
from tests.data.fixtures import dataset_config, write_duts, write_hk

# The dataset config that checkpoints written before PairedFolders carry (configs/dataset/{duts,hk}.yaml then).
BINARY = {"task": "binary", "threshold": 127, "num_classes": 1, "class_names": ["background", "foreground"],
          "ignore_index": 255, "resize": "square", "hflip_prob": 0.5, "scale_range": [1.0, 1.0]}
OLD_CONFIGS = {
    "duts": {"_target_": "seg_cli.data.duts.DUTSSaliency", **BINARY, "base_size": 320, "crop_size": 288},
    "hk": {"_target_": "seg_cli.data.hk.HKPortraits", **BINARY, "base_size": 256, "crop_size": 256},
}
WRITERS = {"duts": write_duts, "hk": write_hk}


def assert_same_samples(old, new, seeds: bool) -> None:
    assert type(old) is type(new) is PairedFolders and len(old) == len(new) > 0
    for index in range(len(new)):
        item = (index, 1000 + index) if seeds else index
        assert old.sample_name(index) == new.sample_name(index)
        for a, b in zip(old[item], new[item], strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("option", ["duts", "hk"])
def test_config_of_the_old_class_builds_the_samples_of_the_new_config(tmp_path, option):
    root = str(WRITERS[option](tmp_path))
    old, new = {**OLD_CONFIGS[option], "root": root}, dataset_config(option, root=root)
    for split, train in (("train", True), ("val", False), ("test", False)):
        assert_same_samples(build_dataset(old, split, train=train), build_dataset(new, split, train=train), train)


@pytest.mark.parametrize("option", ["duts", "hk"])
def test_config_of_the_old_class_keeps_its_messages_and_keys(tmp_path, option):
    old = {**OLD_CONFIGS[option], "root": str(tmp_path / "nowhere")}
    with pytest.raises(DataError) as old_error:
        build_dataset(old, "train", train=False)
    with pytest.raises(DataError) as new_error:
        build_dataset(dataset_config(option, root=str(tmp_path / "nowhere")), "train", train=False)
    assert str(old_error.value) == str(new_error.value)
    root = str(WRITERS[option](tmp_path / "data"))
    strict = build_dataset({**OLD_CONFIGS[option], "root": root, "threshold": 250}, "val", train=False)
    assert strict.threshold == 250


def test_split_names_and_sub_folder_template(tmp_path):
    assert describe_splits({"train": "DUTS-TR", "val": "DUTS-TE", "test": "DUTS-TE"}) == "train (DUTS-TR) and val (DUTS-TE)"
    assert describe_splits({"a": "x", "b": "y", "c": "z"}) == "a (x), b (y) and c (z)"
    root = write_duts(tmp_path)
    dirs = {"train": "DUTS-TR", "val": "DUTS-TE"}
    ds = PairedFolders(str(root), "val", dirs, images_dir="{split_dir}/{split_dir}-Image",
                       masks_dir="{split_dir}/{split_dir}-Mask")
    assert [p[1].parent.name for p in ds.pairs] == ["DUTS-TE-Mask"] * 3
    with pytest.raises(DataError, match=r"^DUTS has the splits train \(DUTS-TR\) and val \(DUTS-TE\), not 'test'$"):
        PairedFolders(str(root), "test", dirs, name="DUTS")
