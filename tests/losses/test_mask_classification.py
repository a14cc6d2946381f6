"""loss=mask2former (seg_cli.losses.mask_classification): semantic targets become the image processor's class and
mask labels (ignore dropped), the loss equals transformers' own Mask2Former loss on the same labels, an image of
only ignored pixels trains its queries to the null class, and loss=auto picks the loss through ModelSpec.loss while
other pairings of model and loss are one line."""

from __future__ import annotations

import pytest
import torch

from seg_cli.errors import ConfigError
from seg_cli.losses.cross_entropy import SegmentationLoss, check_model_loss, default_loss
from seg_cli.losses.mask_classification import MaskClassificationLoss, mask_targets, pad_target
from seg_cli.models.contract import LOSS_INPUTS
from seg_cli.models.hf_mask2former import Mask2FormerAdapter
from seg_cli.models.unet import unet

transformers = pytest.importorskip("transformers")
from tests.models.test_hf_mask2former import tiny_mask2former  # noqa: E402  (after the importorskip)

POINTS = 64  # the tiny model's train_num_points: transformers' loss and ours sample as many


@pytest.fixture(scope="module")
def adapter() -> Mask2FormerAdapter:
    torch.manual_seed(0)
    return Mask2FormerAdapter(tiny_mask2former(num_labels=4)).train()


def semantic_target() -> torch.Tensor:
    target = torch.zeros(2, 64, 64, dtype=torch.long)
    target[0, :, 20:] = 2
    target[0, 40:, :] = 255  # a void region
    target[1, 10:30, 10:30] = 3
    target[1, :, :3] = 255
    return target


def test_targets_are_the_image_processors_class_and_mask_labels():
    from transformers.models.mask2former.image_processing_mask2former import (
        convert_segmentation_map_to_binary_masks_fast as convert,
    )

    target = semantic_target()
    class_labels, mask_labels = mask_targets(target, 255)
    assert [labels.tolist() for labels in class_labels] == [[0, 2], [0, 3]]
    for image, classes, masks in zip(target, class_labels, mask_labels, strict=True):
        want_masks, want_classes = convert(image, ignore_index=255)
        assert torch.equal(classes, want_classes) and torch.equal(masks, want_masks)
        assert masks[:, image == 255].sum() == 0  # an ignored pixel is in no class's mask
    padded = pad_target(target[:, :37, :45], (64, 64), 255)
    assert padded.shape == (2, 64, 64) and (padded[:, 37:] == 255).all() and (padded[:, :, 45:] == 255).all()


def test_the_loss_equals_transformers_own_on_the_same_labels(adapter):
    """Same points: the matcher and the point sampling draw from torch's generator in the same order."""
    images, target = torch.randn(2, 3, 64, 64), semantic_target()
    class_labels, mask_labels = mask_targets(target, 255)
    torch.manual_seed(1)
    expected = adapter.model(pixel_values=images, mask_labels=mask_labels, class_labels=class_labels).loss
    torch.manual_seed(1)
    loss = MaskClassificationLoss(num_points=POINTS)(adapter(images), target)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    # and from an odd-sized crop, padded like the image: the masks and the padded target cover the same pixels
    loss = MaskClassificationLoss(num_points=POINTS)(adapter(images[:1, :, :37, :45]), target[:1, :37, :45])
    assert loss.isfinite()


def test_an_image_of_only_ignored_pixels_trains_the_null_class(adapter):
    target = semantic_target()
    target[1] = 255
    loss = MaskClassificationLoss(num_points=POINTS)(adapter(torch.randn(2, 3, 64, 64)), target)
    loss.backward()
    assert loss.isfinite() and adapter.model.class_predictor.weight.grad.isfinite().all()
    adapter.zero_grad()


def test_loss_auto_builds_the_loss_the_model_declares(adapter):
    assert type(default_loss("multiclass", 255, 0.5, model=adapter)) is MaskClassificationLoss
    assert type(default_loss("multiclass", 255, 0.5, model=unet(3, base_channels=4, depth=1))) is SegmentationLoss
    assert type(default_loss("multiclass")) is SegmentationLoss  # no model: the task's
    with pytest.raises(ConfigError, match="dataset.task=binary: the model trains with loss=mask2former"):
        default_loss("binary", 255, 0.5, model=adapter)


def test_another_pairing_of_model_and_loss_is_one_line(adapter):
    check_model_loss(MaskClassificationLoss(), adapter)
    with pytest.raises(ConfigError, match="this model trains with its own loss, loss=mask2former") as info:
        check_model_loss(SegmentationLoss(), adapter)
    assert "\n" not in str(info.value)
    per_pixel = unet(3, base_channels=4, depth=1)
    with pytest.raises(ConfigError, match="loss=mask2former trains Mask2Former models"):
        check_model_loss(MaskClassificationLoss(), per_pixel)
    with pytest.raises(ConfigError, match="loss=mask2former trains Mask2Former models"):
        MaskClassificationLoss()({"out": torch.randn(1, 3, 32, 32)}, torch.zeros(1, 32, 32, dtype=torch.long))
    assert LOSS_INPUTS not in adapter.eval()(torch.randn(1, 3, 40, 40))  # eval, export, inference: "out" only
    adapter.train()


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="loss.importance_sample_ratio=2"):
        MaskClassificationLoss(importance_sample_ratio=2)
