import pytest
import torch

from seg_cli.data import build
from seg_cli.data.build import resolve_workers


@pytest.mark.parametrize("cores,device,local,expected", [
    (2, "cpu", 1, 0), (1, "cpu", 1, 0), (15, "cpu", 1, 0), (16, "cpu", 1, 1), (40, "cpu", 1, 2),
    (16, "cuda", 1, 8), (16, "cuda", 4, 3), (2, "cuda", 1, 1),
])
def test_auto_workers_follow_device_and_cores(monkeypatch, cores, device, local, expected):
    monkeypatch.setattr(build.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    assert resolve_workers("auto", torch.device(device)) == expected


def test_a_number_is_kept():
    assert resolve_workers(3, torch.device("cpu")) == 3 and resolve_workers(0, torch.device("cuda")) == 0


def epoch_batches(dataset, workers: int, epoch: int = 1, start: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    loader = build.build_train_loader(dataset, batch_size=3, workers=workers, seed=7)
    loader.sampler.set_epoch(epoch, start)
    return [(images.clone(), masks.clone()) for images, masks in loader]


def test_augmented_batches_are_identical_with_0_and_2_workers_and_after_a_resume():
    """augment=strong draws every step from the sample's seed: neither workers nor a mid-epoch resume
    (TrainSampler's start offset) change a batch."""
    from omegaconf import OmegaConf

    from seg_cli.paths import config_dir

    strong = OmegaConf.to_container(OmegaConf.load(f"{config_dir()}/augment/strong.yaml"))
    cfg = {"_target_": "seg_cli.data.synthetic.SyntheticShapes", "num_classes": 4, "train_size": 12,
           "min_side": 40, "max_side": 56, "base_size": 48, "crop_size": 40}
    dataset = build.build_dataset(cfg, "train", train=True, augment=strong)
    single = epoch_batches(dataset, workers=0)
    assert len(single) == 4
    for other in (epoch_batches(dataset, workers=2), [*single[:2], *epoch_batches(dataset, workers=0, start=6)]):
        assert len(other) == len(single)
        for (image_a, mask_a), (image_b, mask_b) in zip(single, other):
            assert torch.equal(image_a, image_b) and torch.equal(mask_a, mask_b)
    assert not torch.equal(epoch_batches(dataset, workers=0, epoch=2)[0][0], single[0][0])  # a new epoch redraws
