"""A dataset YAML's keys are its class's keyword arguments: the class built straight from its YAML (as a user or
a test would, with hydra.utils.instantiate) gives the samples `seg train` gives, for every dataset YAML."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from seg_cli.data.build import build_dataset
from seg_cli.paths import config_dir
from tests.data import fixtures, matting_fixtures
from tests.helpers import write_voc

CONFIGS = Path(config_dir())
# How each dataset YAML's root is written (the fixtures' layouts); synthetic sets need none.
ROOTS = {
    "ade20k": fixtures.write_ade20k, "camvid": fixtures.write_camvid, "cityscapes": fixtures.write_cityscapes,
    "coco_stuff164k": fixtures.write_coco_stuff, "drive": fixtures.write_drive, "duts": fixtures.write_duts,
    "folder": fixtures.write_folder, "hk": fixtures.write_hk, "voc": write_voc, "voc_aug": fixtures.write_voc_aug,
    "synthetic": None, "synthetic_binary": None,
    "p3m10k": matting_fixtures.write_p3m10k, "am2k": matting_fixtures.write_am2k,
    "ppm100": matting_fixtures.write_ppm100, "aisegment": matting_fixtures.write_aisegment,
}
EVAL_ONLY = {"ppm100"}  # a benchmark without a train split
SMALL = {"base_size": 40, "crop_size": 32}  # the fixtures' images are about 40 px
SYNTHETIC = {"train_size": 4, "val_size": 2}


def test_every_dataset_yaml_has_a_fixture():
    assert sorted(ROOTS) == sorted(p.stem for p in (CONFIGS / "dataset").glob("*.yaml"))


def yaml_config(option: str, tmp_path: Path, **values: object):
    """configs/dataset/<option>.yaml with its root written (where it has one) and `values` set."""
    cfg = OmegaConf.load(CONFIGS / "dataset" / f"{option}.yaml")
    writer = ROOTS[option]
    if writer is not None:
        cfg.root = str(writer(tmp_path / option))
    for key, value in {**SMALL, **(SYNTHETIC if writer is None else {}), **values}.items():
        cfg[key] = value
    return cfg


def assert_same_samples(straight, built, items) -> None:
    assert len(straight) == len(built)
    for item in items:
        for ours, theirs in zip(straight[item], built[item]):
            assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), item


@pytest.mark.parametrize("option", sorted(ROOTS))
def test_the_class_built_from_its_yaml_gives_seg_trains_samples(option, tmp_path):
    cfg = yaml_config(option, tmp_path)
    plain = OmegaConf.to_container(cfg)
    val = instantiate(cfg, split="val")
    assert_same_samples(val, build_dataset(plain, "val", train=False), range(min(2, len(val))))
    if option in EVAL_ONLY:
        return
    # seg train's default augment=default pipeline draws what the dataset's own training transform draws
    augment = OmegaConf.to_container(OmegaConf.load(CONFIGS / "augment" / "default.yaml"))
    train = instantiate(cfg, split="train")
    assert_same_samples(train, build_dataset(plain, "train", train=True, augment=augment), [(0, 7), (1, 8)])
    assert train[(0, 7)][0].shape[-2:] == (32, 32)


def test_in_channels_of_the_yaml_is_what_the_class_reads(tmp_path):
    cfg = yaml_config("folder", tmp_path, in_channels=1, mean=[0.5], std=[0.25])
    image, _ = instantiate(cfg, split="val")[0]
    assert image.shape[0] == 1


def test_without_sizes_the_class_gives_samples_as_read(tmp_path):
    cfg = yaml_config("folder", tmp_path)
    raw = instantiate(cfg, split="val", base_size=None)
    image, mask = raw[0]
    assert image.dtype == torch.uint8 and tuple(image.shape[-2:]) == (32, 40) == tuple(mask.shape)


def test_a_key_no_dataset_takes_is_named(tmp_path):
    from seg_cli.errors import ConfigError

    cfg = OmegaConf.to_container(yaml_config("voc", tmp_path, crop_sise=32))
    with pytest.raises(ConfigError, match="crop_sise"):
        build_dataset(cfg, "val", train=False)
