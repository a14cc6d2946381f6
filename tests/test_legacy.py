"""Checkpoints written before a builder moved still rebuild: their `_target_` paths are followed."""

import torch

from seg_cli.legacy import MOVED_TARGETS
from seg_cli.utils import import_target, split_target


def test_every_moved_target_resolves_to_todays_builder():
    for old, (new, _) in MOVED_TARGETS.items():
        assert import_target(old) is import_target(new), old


def test_a_pre_move_loss_config_builds_the_same_loss():
    builder, kwargs = split_target({"_target_": "seg_cli.engine.losses.SegmentationLoss", "ignore_index": 255,
                                    "aux_weight": 0.5})
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    today = import_target("seg_cli.losses.cross_entropy.SegmentationLoss")(ignore_index=255, aux_weight=0.5)
    assert torch.equal(builder(**kwargs)(logits, target), today(logits, target))


def test_a_checkpoint_written_before_the_moves_evaluates_and_resumes(seg, tmp_path):
    """A DUTS checkpoint whose config names the old dataset and loss classes (and lacks the keys they
    implied) goes through `seg eval` and `seg train train.resume=PATH` as before."""
    from seg_cli.checkpoint import load_checkpoint, save_checkpoint
    from tests.data.fixtures import write_duts
    from tests.helpers import read_metrics, run_dirs

    root = write_duts(tmp_path / "DUTS")
    tiny = ["model=unet", "model.base_channels=4", "model.depth=2", "train.epochs=1", "train.batch_size=2",
            "train.workers=0", "train.progress=false", "dataset.base_size=32", "dataset.crop_size=32"]
    assert seg.run("train", "dataset=duts", f"dataset.root={root}", *tiny).returncode == 0
    ckpt = run_dirs(tmp_path)[-1] / "checkpoints" / "last.pt"
    state = load_checkpoint(ckpt)
    dataset = {k: v for k, v in state["config"]["dataset"].items()
               if k not in ("name", "split_dirs", "images_dir", "masks_dir", "image_suffix", "mask_suffix",
                            "image_extensions", "mask_extensions", "layout")}
    state["config"]["dataset"] = {**dataset, "_target_": "seg_cli.data.duts.DUTSSaliency"}
    assert state["config"]["loss"]["_target_"] == "seg_cli.losses.cross_entropy.default_loss"  # loss=auto
    state["config"]["loss"]["_target_"] = "seg_cli.engine.losses.default_loss"
    old = tmp_path / "old.pt"
    save_checkpoint(state, old)

    evaluated = seg.run("eval", f"ckpt={old}", "workers=0")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert read_metrics(run_dirs(tmp_path, "eval")[-1])["images"] == 3
    resumed = seg.run("train", f"train.resume={old}", "train.epochs=2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 2
