"""Issue 22 item 2: the target type. The class-index target's rules asserted on values, and a continuous target
(matting's float alpha, bilinear, padding marked invalid by a weight channel) carried through the augment
steps, the presets, the eval collation and the training loop, which know nothing of it."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from seg_cli.data.alpha import ALPHA_TARGET
from seg_cli.data.augment import build_augment
from seg_cli.data.build import collate_padded
from seg_cli.data.targets import CLASS_TARGET, ClassTarget, Target, paired
from seg_cli.data.transforms import SegmentationPresetEval, SegmentationPresetTrain
from seg_cli.engine.loop import train_one_epoch
from seg_cli.errors import DataError
from seg_cli.tasks import TASKS, get_task

DATASET = dict(base_size=32, crop_size=(40, 40), hflip_prob=0.5, ignore_index=255, scale_range=(0.5, 1.5),
               resize="shorter", in_channels=3)
GEOMETRIC = [{"name": "resize"}, {"name": "rotate", "p": 1.0, "degrees": [-30, 30]}, {"name": "random_crop"},
             {"name": "hflip"}, {"name": "vflip"}, {"name": "center_crop"}]
PHOTOMETRIC = [{"name": "photometric", "p": 1.0}, {"name": "gaussian_blur", "p": 1.0},
               {"name": "gaussian_noise", "p": 1.0}, {"name": "grayscale", "p": 1.0}]


def labels(h: int = 20, w: int = 30) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.uint8)
    mask[4:12, 5:20], mask[12:, 20:] = 1, 2
    return mask


# --- the class-index target -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
def test_every_task_target_travels_through_every_geometric_step_collation_and_the_loss(name):
    task = get_task(name)
    target = task.target
    assert isinstance(target, Target)
    stored = labels() % 2 if target.reads_labels else (labels() % 2).float()  # 0/1: labels (or alpha) every task has
    typed = target.typed(stored, task.label_count(2), 255, "t")
    pipeline = build_augment({"steps": GEOMETRIC}, DATASET, [0.5] * 3, [0.25] * 3, target=target)
    torch.manual_seed(0)
    image, moved = pipeline(torch.rand(3, 20, 30), typed)
    assert moved.shape[-2:] == image.shape[-2:] == (40, 40) and moved.dtype == typed.dtype
    _, batch, _, _ = collate_padded([(image, moved), (image[:, :30], moved[..., :30, :])], 255, target=target)
    assert target.for_loss(batch).shape == (2, *moved.shape)


def test_a_class_target_is_resampled_nearest_neighbour_whatever_the_image_gets():
    image, mask = torch.rand(3, 20, 30), labels()
    _, resized = paired(F.resize, image, mask, [45, 67], interpolation=InterpolationMode.BILINEAR, antialias=True)
    assert isinstance(resized, tv_tensors.Mask) and resized.dtype == torch.uint8
    assert torch.equal(resized, F.resize(mask[None], [45, 67], interpolation=InterpolationMode.NEAREST)[0])
    _, rotated = paired(F.rotate, image, mask, 17.0, interpolation=InterpolationMode.BILINEAR, fill=(0, 255))
    assert set(rotated.unique().tolist()) == {0, 1, 2, 255}  # no blend of labels, only labels and the fill


def test_a_class_target_is_padded_and_rotated_in_with_the_fill_it_is_given():
    image, mask = torch.rand(3, 20, 30), labels()
    padded_image, padded = paired(F.pad, image, mask, [2, 3, 4, 5], fill=(0, 255))
    assert padded.shape == (28, 36) and padded_image.shape == (3, 28, 36)
    assert (padded[:3] == 255).all() and (padded[:, :2] == 255).all() and (padded[-5:] == 255).all()
    assert torch.equal(padded[3:-5, 2:-4], mask) and float(padded_image[:, :3].abs().max()) == 0
    _, rotated = paired(F.rotate, image, mask, 45.0, fill=(0, 7))
    assert rotated[0, 0] == 7 and rotated[-1, -1] == 7


def test_a_plain_tensor_target_is_a_class_map():
    _, resized = paired(F.resize, torch.rand(3, 4, 4), torch.tensor([[0, 1], [2, 3]], dtype=torch.uint8).repeat(2, 2),
                        [8, 8], interpolation=InterpolationMode.BILINEAR)
    assert set(resized.unique().tolist()) == {0, 1, 2, 3}


def test_eval_collation_pads_class_targets_with_the_ignore_index():
    batch = [(torch.rand(3, 5, 6), torch.ones(5, 6, dtype=torch.uint8)),
             (torch.rand(3, 7, 4), torch.full((7, 4), 2, dtype=torch.uint8))]
    images, masks, image_sizes, mask_sizes = collate_padded(batch, ignore_index=200, pad_multiple=4)
    assert images.shape == (2, 3, 8, 8) and masks.shape == (2, 7, 6) and masks.dtype == torch.uint8
    assert (masks[0, :5, :6] == 1).all() and (masks[0, 5:] == 200).all()
    assert (masks[1, :, :4] == 2).all() and (masks[1, :, 4:] == 200).all()
    assert image_sizes == mask_sizes == [(5, 6), (7, 4)]


def test_the_loss_gets_int64_class_indices():
    masks = torch.tensor([[[0, 1], [2, 255]]], dtype=torch.uint8)
    out = CLASS_TARGET.for_loss(masks)
    assert out.dtype == torch.int64 and out.tolist() == [[[0, 1], [2, 255]]]


def test_a_loaded_class_target_is_checked_and_stored_as_uint8():
    typed = CLASS_TARGET.typed(torch.tensor([[0, 2], [255, 1]], dtype=torch.int32), 3, 255, "m.png")
    assert typed.dtype == torch.uint8 and typed.tolist() == [[0, 2], [255, 1]]
    with pytest.raises(DataError, match=r"mask m.png has label values \[3\] outside \[0, 3\)"):
        CLASS_TARGET.typed(torch.tensor([[0, 3]]), 3, 255, "m.png")


@pytest.mark.parametrize("label_count,ignore_index,maps_values,reads", [
    (2, 255, False, True), (3, 255, False, False), (2, 0, False, False), (2, 255, True, False)])
def test_0_255_masks_are_read_as_labels_only_with_two_labels_and_ignore_255_unmapped(label_count, ignore_index,
                                                                                       maps_values, reads):
    assert ClassTarget().reads_0_255(label_count, ignore_index, maps_values) is reads


# --- a continuous target: matting's alpha (seg_cli.data.alpha) ----------------------------------------------

ALPHA = ALPHA_TARGET


def soft_pair(h: int = 24, w: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """An image whose every channel is its alpha x 255: a hard-edged square of alpha 1 on 0."""
    alpha = torch.zeros(h, w)
    alpha[6:18, 8:22] = 1.0
    return (alpha * 255).to(torch.uint8).expand(3, -1, -1).clone(), ALPHA.typed(alpha, 0, 255, "test")


def test_a_continuous_target_travels_through_every_geometric_step_as_its_type_says():
    pipeline = build_augment({"steps": GEOMETRIC + PHOTOMETRIC}, DATASET, [0.5] * 3, [0.25] * 3, target=ALPHA)
    image, target = soft_pair()
    for seed in range(6):
        torch.manual_seed(seed)
        out_image, out = pipeline(image, target)
        assert type(out) is torch.Tensor and out.dtype == torch.float32 and out.shape == (2, 40, 40)
        assert out_image.shape == (3, 40, 40)
        alpha, weight = out
        assert float(alpha.min()) >= 0 and float(alpha.max()) <= 1 + 1e-6 and not (out == 255).any()
        assert ((alpha > 0.05) & (alpha < 0.95)).any()  # bilinear: the hard edge is blended, not nearest
        assert (weight < 0.01).any() and (weight > 0.99).any()  # 40 > the resized image: padding is invalid


def test_a_continuous_target_stays_aligned_with_its_image():
    pipeline = build_augment({"steps": GEOMETRIC}, DATASET, [0.0] * 3, [1.0] * 3, target=ALPHA)
    image, target = soft_pair()
    for seed in range(6):
        torch.manual_seed(seed)
        out_image, (alpha, weight) = pipeline(image, target)
        valid = weight > 0.99
        assert float((out_image[0] - alpha)[valid].abs().mean()) < 0.03, seed


def test_the_presets_take_a_continuous_target_too():
    image, target = soft_pair()
    torch.manual_seed(0)
    _, out = SegmentationPresetTrain(32, 40, target=ALPHA)(image, target)
    assert out.shape == (2, 40, 40) and (out[1] < 0.01).any() and ((out[0] > 0.05) & (out[0] < 0.95)).any()
    _, resized = SegmentationPresetEval(48, resize_mask=True, target=ALPHA)(image, target)
    assert resized.shape == (2, 48, 60) and ((resized[0] > 0.05) & (resized[0] < 0.95)).any()


def test_eval_collation_pads_a_continuous_target_as_invalid_not_with_the_ignore_index():
    batch = [(torch.rand(3, 5, 6), ALPHA.typed(torch.full((5, 6), 0.5), 0, 255, "a")),
             (torch.rand(3, 7, 4), ALPHA.typed(torch.full((7, 4), 1.0), 0, 255, "b"))]
    _, targets, _, mask_sizes = collate_padded(batch, ignore_index=255, target=ALPHA)
    assert targets.shape == (2, 2, 7, 6) and targets.dtype == torch.float32 and mask_sizes == [(5, 6), (7, 4)]
    assert (targets[0, 1, 5:] == 0).all() and (targets[1, 1, :, 4:] == 0).all() and (targets[0, 1, :5] == 1).all()
    assert not (targets == 255).any()


def test_the_training_loop_hands_a_continuous_target_to_the_loss_as_it_is():
    seen = []

    def weighted_l1(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        seen.append(targets.dtype)
        alpha, weight = targets[:, 0], targets[:, 1]
        return ((logits[:, 0].sigmoid() - alpha).abs() * weight).sum() / weight.sum()

    image, target = soft_pair()
    loader = [(torch.stack([image.float() / 255] * 2), torch.stack([target] * 2))] * 3
    model = torch.nn.Conv2d(3, 1, 3, padding=1)
    before = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    result = train_one_epoch(model, weighted_l1, optimizer, loader, scheduler, torch.device("cpu"), 0, target=ALPHA)
    assert seen == [torch.float32] * 3 and result.global_step == 3 and 0 < result.mean_loss < 1
    assert not torch.equal(before, model.weight)
