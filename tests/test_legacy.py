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
