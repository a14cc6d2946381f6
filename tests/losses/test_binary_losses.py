import math

import pytest
import torch
import torch.nn.functional as F

from seg_cli.errors import ConfigError
from seg_cli.losses.binary import BinarySegmentationLoss, DiceCrossEntropyLoss


def test_bce_matches_torch_on_valid_pixels_only():
    logits = torch.tensor([[[[2.0, -1.0], [0.5, 3.0]]]])
    target = torch.tensor([[[1, 0], [255, 1]]])
    expected = F.binary_cross_entropy_with_logits(torch.tensor([2.0, -1.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]))
    assert BinarySegmentationLoss()(logits, target).item() == pytest.approx(expected.item())


def test_soft_dice_term_by_hand():
    # logits 0 -> p = 1/2 everywhere; 4 pixels, 2 foreground: dice = (2*1 + 1) / (2 + 2 + 1) = 3/5
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[1, 1], [0, 0]]])
    loss = BinarySegmentationLoss(dice_weight=2.0)(logits, target)
    assert loss.item() == pytest.approx(math.log(2) + 2.0 * (1 - 3 / 5))


def test_u2net_outputs_sum_fused_and_side_losses_with_weights():
    torch.manual_seed(0)
    target = torch.randint(0, 2, (2, 6, 6))
    outputs = {"out": torch.randn(2, 1, 6, 6), **{f"side{i}": torch.randn(2, 1, 6, 6) for i in range(1, 7)}}

    def bce(x):
        return F.binary_cross_entropy_with_logits(x[:, 0], target.float()).item()

    plain = BinarySegmentationLoss()(outputs, target).item()
    assert plain == pytest.approx(sum(bce(outputs[k]) for k in outputs))
    weights = [0.5, 0, 0, 0, 0, 2.0]
    weighted = BinarySegmentationLoss(side_weights=weights)(outputs, target).item()
    assert weighted == pytest.approx(bce(outputs["out"]) + 0.5 * bce(outputs["side1"]) + 2.0 * bce(outputs["side6"]))
    with pytest.raises(ConfigError, match="side_weights lists only 2"):
        BinarySegmentationLoss(side_weights=[1, 1])(outputs, target)


def test_zero_valid_pixels_give_zero_not_nan_with_gradients():
    logits = torch.randn(1, 1, 3, 3, requires_grad=True)
    target = torch.full((1, 3, 3), 255)
    loss = BinarySegmentationLoss(dice_weight=1.0)(logits, target)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(logits.grad).all()
    multi = torch.randn(1, 3, 3, 3, requires_grad=True)
    loss = DiceCrossEntropyLoss()(multi, target)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(multi.grad).all()


def test_smaller_logits_are_resized_and_wrong_channel_count_is_named():
    target = torch.ones(1, 4, 4, dtype=torch.long)
    small = torch.full((1, 1, 2, 2), 1.5)  # bilinear upsampling of a constant stays constant
    expected = F.binary_cross_entropy_with_logits(torch.tensor(1.5), torch.tensor(1.0)).item()
    assert BinarySegmentationLoss()(small, target).item() == pytest.approx(expected)
    with pytest.raises(ConfigError, match="got 2 channels"):
        BinarySegmentationLoss()(torch.zeros(1, 2, 4, 4), target)


def test_dice_cross_entropy_by_hand_and_aux_weight():
    # uniform logits over 2 classes: CE = log 2; per-class dice with p = 1/2:
    # class 0 (1 pixel of 2): (2*0.5 + 1) / (1 + 1 + 1) = 2/3; class 1 (1 pixel) likewise -> loss 1/3
    logits = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]])
    loss = DiceCrossEntropyLoss(dice_weight=1.0)
    assert loss(logits, target).item() == pytest.approx(math.log(2) + 1 / 3)
    both = loss({"out": logits, "aux": logits}, target).item()
    assert both == pytest.approx(1.5 * (math.log(2) + 1 / 3))
    ce_only = DiceCrossEntropyLoss(dice_weight=0.0)(logits, target).item()
    assert ce_only == pytest.approx(F.cross_entropy(logits, target).item())


def test_dice_cross_entropy_ignores_ignored_pixels():
    logits = torch.tensor([[[[4.0, -2.0, 9.0]], [[0.0, 1.0, -9.0]]]])
    target = torch.tensor([[[0, 1, 255]]])
    loss = DiceCrossEntropyLoss()(logits, target).item()
    reference = DiceCrossEntropyLoss()(logits[..., :2], target[..., :2]).item()
    assert loss == pytest.approx(reference)
