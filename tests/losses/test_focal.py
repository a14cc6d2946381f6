import math

import pytest
import torch
import torch.nn.functional as F

from seg_cli.errors import ConfigError
from seg_cli.losses.focal import FocalLoss, WeightedCrossEntropyLoss
from seg_cli.losses.terms import multiclass_soft_dice

# Two pixels, two classes: pixel A has logits (0, 0) and target 0, so p_t = 1/2;
# pixel B has logits (0, ln 3) and target 1, so p_t = 3/4.
TWO_LOGITS = torch.tensor([[[[0.0, 0.0]], [[0.0, math.log(3)]]]])  # (1, 2, 1, 2)
TWO_TARGET = torch.tensor([[[0, 1]]])
TERM_A = (1 / 2) ** 2 * math.log(2)  # -(1 - p)^2 log p
TERM_B = (1 / 4) ** 2 * math.log(4 / 3)


def random_batch(seed: int = 0, classes: int = 4, ignored: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, classes, 5, 6, generator=gen) * 3
    target = torch.randint(0, classes, (2, 5, 6), generator=gen)
    target[torch.rand(target.shape, generator=gen) < ignored] = 255
    return logits, target


def test_two_pixels_by_hand():
    assert FocalLoss()(TWO_LOGITS, TWO_TARGET).item() == pytest.approx((TERM_A + TERM_B) / 2)
    alpha = FocalLoss(alpha=[0.25, 0.75])(TWO_LOGITS, TWO_TARGET).item()
    assert alpha == pytest.approx((0.25 * TERM_A + 0.75 * TERM_B) / 2)
    assert FocalLoss(alpha=0.25)(TWO_LOGITS, TWO_TARGET).item() == pytest.approx(0.25 * (TERM_A + TERM_B) / 2)
    # class weights are normalised like cross-entropy's weight=: by the summed weights, 1 + 3.
    weighted = FocalLoss(class_weights=[1.0, 3.0])(TWO_LOGITS, TWO_TARGET).item()
    assert weighted == pytest.approx((TERM_A + 3 * TERM_B) / 4)
    gamma_one = FocalLoss(gamma=1.0)(TWO_LOGITS, TWO_TARGET).item()
    assert gamma_one == pytest.approx((0.5 * math.log(2) + 0.25 * math.log(4 / 3)) / 2)


def test_gamma_zero_is_cross_entropy():
    logits, target = random_batch()
    expected = F.cross_entropy(logits, target, ignore_index=255)
    assert FocalLoss(gamma=0.0)(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)
    weights = [0.5, 2.0, 1.0, 3.0]
    expected = F.cross_entropy(logits, target, weight=torch.tensor(weights), ignore_index=255)
    assert FocalLoss(gamma=0.0, class_weights=weights)(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)


def test_focusing_lowers_the_loss_of_easy_pixels():
    logits, target = random_batch(1)
    losses = [FocalLoss(gamma=g)(logits, target).item() for g in (0.0, 0.5, 2.0, 5.0)]
    assert losses == sorted(losses, reverse=True)


@pytest.mark.parametrize("weights", [None, [0.5, 2.0, 1.0, 3.0], [0.0, 1.0, 1.0, 1.0]])
def test_weighted_cross_entropy_matches_torch(weights):
    logits, target = random_batch(2)
    weight = torch.tensor(weights) if weights is not None else None
    expected = F.cross_entropy(logits, target, weight=weight, ignore_index=255)
    got = WeightedCrossEntropyLoss(class_weights=weights)(logits, target)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert WeightedCrossEntropyLoss(class_weights=weight)(logits, target).item() == pytest.approx(got.item())


def test_ignored_pixels_change_nothing():
    logits, target = random_batch(3, ignored=0.0)
    some = target.clone()
    some[:, :2] = 255
    changed = logits.clone()
    changed[:, :, :2] = 1e4  # wild logits on ignored pixels must not leak in
    for loss in (FocalLoss(), FocalLoss(class_weights=[1, 2, 3, 4], dice_weight=1.0), WeightedCrossEntropyLoss()):
        assert loss(changed, some).item() == pytest.approx(loss(logits, some).item())
        assert loss(logits, some).item() != pytest.approx(loss(logits, target).item())


def test_all_ignored_or_zero_weight_gives_zero_not_nan_with_gradients():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    for target, loss in (
        (torch.full((1, 4, 4), 255), FocalLoss(dice_weight=1.0)),
        (torch.full((1, 4, 4), 255), WeightedCrossEntropyLoss(class_weights=[1, 2, 3])),
        (torch.zeros(1, 4, 4, dtype=torch.long), FocalLoss(class_weights=[0, 1, 1])),
    ):
        logits.grad = None
        value = loss(logits, target)
        value.backward()
        assert value.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_gamma_below_one_has_finite_gradients_on_certain_pixels():
    logits = torch.tensor([[[[60.0, 0.0]], [[-60.0, 0.0]]]], requires_grad=True)  # p_t rounds to 1 on pixel 0
    loss = FocalLoss(gamma=0.5)(logits, torch.tensor([[[0, 1]]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_dice_and_aux_terms():
    logits, target = random_batch(4)
    aux = torch.randn_like(logits)
    focal = FocalLoss()(logits, target).item()
    dice = multiclass_soft_dice(logits, target, 255).item()
    assert FocalLoss(dice_weight=2.0)(logits, target).item() == pytest.approx(focal + 2.0 * dice)
    with_aux = FocalLoss(aux_weight=0.4)({"out": logits, "aux": aux}, target).item()
    assert with_aux == pytest.approx(focal + 0.4 * FocalLoss()(aux, target).item())
    assert FocalLoss(aux_weight=0)({"out": logits, "aux": aux}, target).item() == pytest.approx(focal)
    ce = WeightedCrossEntropyLoss(aux_weight=0.4)({"out": logits, "aux": aux}, target).item()
    expected = F.cross_entropy(logits, target, ignore_index=255) + 0.4 * F.cross_entropy(aux, target, ignore_index=255)
    assert ce == pytest.approx(expected.item(), rel=1e-6)


def test_task_and_config_errors():
    assert FocalLoss.task == "multiclass" and WeightedCrossEntropyLoss.task == "multiclass"
    logits, target = random_batch(5)
    with pytest.raises(ConfigError, match="loss.class_weights lists 3 values but the model outputs 4 classes"):
        FocalLoss(class_weights=[1, 1, 1])(logits, target)
    with pytest.raises(ConfigError, match="loss.alpha lists 2 values"):
        FocalLoss(alpha=[0.5, 0.5])(logits, target)
    with pytest.raises(ConfigError, match="loss.class_weights lists 5 values"):
        WeightedCrossEntropyLoss(class_weights=[1] * 5)(logits, target)
    with pytest.raises(ConfigError, match="loss.class_weights"):
        WeightedCrossEntropyLoss(class_weights=[1, -1, 1, 1])
    with pytest.raises(ConfigError, match="loss.alpha"):
        FocalLoss(alpha="auto")
    with pytest.raises(ConfigError, match="loss.gamma"):
        FocalLoss(gamma=-1)
