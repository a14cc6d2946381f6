import os
import pickle

import pytest
import torch

from seg_cli.checkpoint import find_newest, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from seg_cli.errors import CheckpointError


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint({"a": torch.ones(2)}, path)
    save_checkpoint({"a": torch.zeros(2)}, path)
    assert torch.equal(load_checkpoint(path)["a"], torch.zeros(2))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"epoch": 1}, path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_rng_state_is_plain_data_and_restores_all_generators(tmp_path):
    import random

    import numpy as np

    torch.manual_seed(1)
    state = rng_state()
    save_checkpoint({"rng": state}, tmp_path / "r.pt")
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    set_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


@pytest.mark.parametrize("content,message", [
    (b"", "not a readable checkpoint"),
    (b"garbage bytes", "not a readable checkpoint"),
])
def test_unreadable_files_give_clear_errors(tmp_path, content, message):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "x.pt")


def test_pickled_objects_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt", pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")


def test_find_newest_picks_latest_mtime(tmp_path):
    old, new = tmp_path / "a/checkpoints/best.pt", tmp_path / "b/checkpoints/best.pt"
    for p in (old, new):
        save_checkpoint({}, p)
    os.utime(old, (1, 1))
    assert find_newest([tmp_path, tmp_path / "missing"], "best.pt") == new
    assert find_newest([tmp_path], "last.pt") is None


def torchvision_reference_checkpoint(path, model):
    """What torchvision's references/segmentation/train.py saves each epoch (its argparse args included)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="lraspp_mobilenet_v3_large")
    parser.add_argument("--lr", default=0.02, type=float)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args([])
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: (1 - step / 100) ** 0.9)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "lr_scheduler": scheduler.state_dict(), "epoch": 29, "args": args}, path)


def test_torchvision_reference_checkpoints_load_and_their_weights_apply(tmp_path):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from seg_cli.models.build import build_model

    source = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    torchvision_reference_checkpoint(tmp_path / "model_29.pth", source)
    state = load_checkpoint(tmp_path / "model_29.pth")
    assert state["epoch"] == 29 and state["args"] == {"model": "lraspp_mobilenet_v3_large", "lr": 0.02, "amp": False}
    model = build_model({"_target_": "seg_cli.models.torchvision_models.lraspp_mobilenet_v3_large",
                         "num_classes": 21, "weights": str(tmp_path / "model_29.pth")})
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_namespace_allowance_does_not_admit_other_objects(tmp_path):
    import argparse

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"args": argparse.Namespace(x=Evil())}, tmp_path / "evil.pt", pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")
