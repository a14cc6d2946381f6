"""model=hf with Mask2Former (seg_cli.models.hf_mask2former): a tiny random Mask2Former saved with save_pretrained meets
the contract at an odd size, "out" gives the image processor's semantic map, pretrained weights load (another class
count re-initialises only the class head), and the CLI trains (loss=auto: the mask-classification loss), evaluates
and predicts with it. HF_HUB_OFFLINE=1 throughout."""

from __future__ import annotations

import logging

import pytest
import torch

from seg_cli.engine.freeze import Freezer
from seg_cli.engine.optim import build_param_groups
from seg_cli.models.contract import LOSS_INPUTS, spec_of
from seg_cli.models.hf import hf
from seg_cli.models.hf_mask2former import semantic_log_scores
from tests.helpers import FAST_TRAIN, assert_predicts_at_photo_size, run_dirs
from tests.seg_process import SegProcess

transformers = pytest.importorskip("transformers")
ODD = (37, 45)
SAVED_CLASSES = 5
ENCODER = "model.model.pixel_level_module.encoder"


def tiny_mask2former(num_labels: int = SAVED_CLASSES, num_points: int = 64) -> torch.nn.Module:
    """A 0.1 M-parameter Mask2Former: a one-block-per-stage Swin, 32-d pixel and transformer decoders (GroupNorm
    needs 32 channels), 5 queries, 2 decoder layers (one auxiliary); no dropout, so a training forward is
    deterministic."""
    backbone = transformers.SwinConfig(embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
                                       drop_path_rate=0.0, out_features=["stage1", "stage2", "stage3", "stage4"])
    config = transformers.Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=32,
        dim_feedforward=32, encoder_layers=1, decoder_layers=2, num_attention_heads=2, num_queries=5,
        num_labels=num_labels, train_num_points=num_points)
    return transformers.Mask2FormerForUniversalSegmentation(config)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture
def saved(tmp_path):
    """(folder written by save_pretrained, the saved model)."""
    torch.manual_seed(0)
    model = tiny_mask2former()
    model.save_pretrained(tmp_path / "m2f")
    return str(tmp_path / "m2f"), model


@pytest.mark.parametrize("pretrained", [True, False])
def test_the_contract_at_an_odd_size(saved, pretrained):
    folder, _ = saved
    model = hf(3, name=folder, pretrained=pretrained).train()
    outputs = model(torch.randn(2, 3, *ODD))
    assert list(outputs) == ["out", LOSS_INPUTS] and outputs["out"].shape == (2, 3, *ODD)
    raw = outputs[LOSS_INPUTS]
    assert raw["size"] == (64, 64)  # padded to the stride-32 grid the masks cover: (64 / 4) x (64 / 4) masks
    assert raw["masks_queries_logits"].shape == (2, 5, 16, 16) and raw["class_queries_logits"].shape == (2, 5, 4)
    assert len(raw["auxiliary_logits"]) == 1  # decoder_layers=2: one auxiliary layer
    model.eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, *ODD))
    assert list(outputs) == ["out"] and outputs["out"].shape == (1, 3, *ODD) and outputs["out"].isfinite().all()
    spec = spec_of(model)
    assert spec.encoder == (ENCODER,) and spec.aux_heads == () and spec.download_keys == ("pretrained",)
    assert spec.loss == "seg_cli.losses.mask_classification.MaskClassificationLoss"
    assert Freezer(model, ["backbone"]).prefixes == (ENCODER,)  # train.freeze=[backbone]
    groups = build_param_groups(model, 0.01, 10.0, None, 0.1, (ENCODER,))  # train.backbone_lr_mult=0.1
    backbone = {id(param) for name, param in model.named_parameters() if name.startswith(ENCODER)}
    assert [group.get("lr") for group in groups] == [None, 0.001]  # the main group takes the optimizer's lr
    assert {id(param) for param in groups[1]["params"]} == backbone


def test_out_is_the_log_of_the_image_processors_semantic_scores(saved):
    """post_process_semantic_segmentation resizes the masks to 384 x 384, then its scores to the target size: with
    a 384 x 384 target, its scores are semantic_log_scores' at 384 x 384, what "out" is for a 384 x 384 image (a
    multiple of 32: nothing padded). At other sizes the library goes through 384 x 384 and resizes the scores;
    seg resizes the masks to the input size once."""
    folder, _ = saved
    model = hf(SAVED_CLASSES, name=folder, pretrained=True).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(images)["out"]
        raw = model.model(pixel_values=images)
    torch.testing.assert_close(out, semantic_log_scores(raw.class_queries_logits, raw.masks_queries_logits, (64, 64)))
    processor = transformers.Mask2FormerImageProcessor()
    results = processor.post_process_semantic_segmentation(raw, target_sizes=[(384, 384)] * 2,
                                                           return_segmentation_scores=True)
    ours = semantic_log_scores(raw.class_queries_logits, raw.masks_queries_logits, (384, 384))
    for index, result in enumerate(results):
        torch.testing.assert_close(ours[index].exp(), result["segmentation_scores"], rtol=1e-5, atol=1e-6)
        assert torch.equal(ours[index].argmax(0), result["segmentation"])
    probabilities = out.softmax(1)  # what predict and the panels read: the scores normalised over the classes
    torch.testing.assert_close(probabilities, out.exp() / out.exp().sum(1, keepdim=True))


def test_pretrained_with_another_class_count_reinitialises_only_the_class_head(saved, caplog):
    folder, original = saved
    with caplog.at_level(logging.INFO, logger="seg_cli.models.hf"):
        model = hf(3, name=folder, pretrained=True)
    saved_state = original.state_dict()
    changed = {key for key, value in model.model.state_dict().items()
               if value.shape != saved_state[key].shape or not torch.equal(value, saved_state[key])}
    # the class head, and the null-class weights of transformers' own (unused) loss, sized by the class count
    assert changed == {"class_predictor.weight", "class_predictor.bias", "criterion.empty_weight"}
    assert model.model.class_predictor.out_features == 4  # 3 classes and the null class
    lines = [r.getMessage() for r in caplog.records if r.name == "seg_cli.models.hf"]
    assert len(lines) == 1 and f"{SAVED_CLASSES} classes in the checkpoint, num_classes=3" in lines[0]
    assert "class_predictor" in lines[0]


def test_pretrained_false_is_random_and_grey_images_work(saved):
    folder, original = saved
    torch.manual_seed(1)
    model = hf(2, 1, folder, pretrained=False).eval()  # dataset.in_channels=1: the Swin backbone's num_channels
    assert not torch.equal(model.model.class_predictor.weight, original.class_predictor.weight[:3])
    with torch.no_grad():
        assert model(torch.randn(1, 1, *ODD))["out"].shape == (1, 2, *ODD)


def test_the_model_type_builds_random_offline():
    small = {"num_queries": 7, "decoder_layers": 2, "encoder_layers": 1, "dim_feedforward": 64}
    model = hf(2, name="mask2former", options=small)  # transformers' default config otherwise: a Swin-S backbone
    assert type(model.model).__name__ == "Mask2FormerForUniversalSegmentation"
    assert model.model.config.num_queries == 7 and model.model.class_predictor.out_features == 3


@pytest.mark.slow
def test_train_eval_and_predict_an_odd_photo(tmp_path):
    """loss=auto trains with the mask-classification loss, with the backbone frozen for the first epoch and at a
    tenth of the learning rate; the checkpoint evaluates and predicts an odd-sized photo."""
    torch.manual_seed(0)
    tiny_mask2former().save_pretrained(tmp_path / "tiny")
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    model = ["model=hf", f"model.name={tmp_path / 'tiny'}", "model.pretrained=true"]
    with SegProcess(tmp_path, offline) as seg:
        result = seg.run("train", *FAST_TRAIN, *model, "train.epochs=2", "train.freeze=[backbone]",
                         "train.freeze_epochs=1", "train.backbone_lr_mult=0.1")
        assert result.returncode == 0, result.stderr
        ckpt = run_dirs(tmp_path)[-1] / "checkpoints" / "best.pt"
        state = torch.load(ckpt, weights_only=True, map_location="cpu")
        assert state["config"]["loss"]["_target_"] == "seg_cli.losses.cross_entropy.default_loss"  # loss=auto
        result = seg.run("eval", f"ckpt={ckpt}", "workers=0")
        assert result.returncode == 0, result.stderr
        assert_predicts_at_photo_size(ckpt, tmp_path, seg)
        result = seg.run("train", *FAST_TRAIN, *model, "loss=cross_entropy")
    assert result.returncode != 0
    assert "this model trains with its own loss, loss=mask2former" in result.stderr.strip().splitlines()[-1]
