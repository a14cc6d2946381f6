import torch

from seg_cli.engine.optim import build_param_groups
from seg_cli.losses.cross_entropy import SegmentationLoss
from seg_cli.models.torchvision_models import fcn_resnet50


def test_loss_ignores_255_and_adds_weighted_aux():
    logits = torch.zeros(1, 2, 1, 2)
    logits[0, 1, 0, 0] = 10.0
    target = torch.tensor([[[1, 255]]])
    ce = torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
    loss = SegmentationLoss(255, aux_weight=0.5)({"out": logits, "aux": logits}, target)
    assert torch.isclose(loss, 1.5 * ce)


def test_all_ignored_crop_gives_zero_loss_not_nan():
    loss = SegmentationLoss()(torch.randn(1, 3, 2, 2), torch.full((1, 2, 2), 255))
    assert loss.item() == 0.0


def test_aux_head_gets_lr_multiplier():
    model = fcn_resnet50(num_classes=3, aux_loss=True)
    groups = build_param_groups(model, lr=0.02, aux_lr_mult=10)
    aux_ids = {id(p) for p in model.aux_classifier.parameters()}
    assert "lr" not in groups[0] and groups[1]["lr"] == 0.2 and {id(p) for p in groups[1]["params"]} == aux_ids
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))


def test_norm_and_bias_parameters_can_skip_weight_decay():
    from seg_cli.models.unet import unet

    model = unet(2, base_channels=4, depth=1)
    groups = build_param_groups(model, lr=1e-3, norm_bias_weight_decay=0.0)
    no_decay = next(g for g in groups if g.get("weight_decay") == 0.0)
    bn = model.stem[1]
    ids = {id(p) for p in no_decay["params"]}
    assert id(bn.weight) in ids and id(bn.bias) in ids and id(model.classifier.bias) in ids
    assert id(model.classifier.weight) not in ids and id(model.stem[0].weight) not in ids
