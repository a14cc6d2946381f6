"""Step budgets, evaluations by steps, early stopping, frozen and averaged weights, through build_training + fit."""

import json
import math

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch import nn

from seg_cli.commands import schema
from seg_cli.engine import fit as fit_module
from seg_cli.engine.ema import ModelEma
from seg_cli.engine.fit import fit
from seg_cli.engine.freeze import Freezer, backbone_prefixes, resolve_prefixes
from seg_cli.engine.optim import build_param_groups
from seg_cli.engine.training import build_training
from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir

# 8 images / batch 2 = 4 optimizer steps per epoch.
TINY = ["train.batch_size=2", "train.workers=0", "train.progress=false", "train.tb_images=0", "dataset.train_size=8",
        "dataset.val_size=2", "dataset.min_side=40", "dataset.max_side=48", "dataset.base_size=40",
        "dataset.crop_size=32", "model.base_channels=4", "train.channels_last=false",
        "eval.plots=false"]  # drawing is tested in tests/reports and tests/commands/test_run_plots.py


def config(*overrides: str) -> dict:
    schema.register()
    with initialize_config_dir(config_dir(), version_base=None):
        cfg = compose("train", overrides=[*TINY, *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


def run(tmp_path, *overrides: str, hook=None):
    """build_training + fit; `hook(model)` runs after every optimizer step (torch's own step hook)."""
    cfg = config(*overrides)
    training = build_training(cfg)
    if hook is not None:
        training.optimizer.register_step_post_hook(lambda *_: hook(training.model))
    summary = fit(training, tmp_path, cfg)
    return training, summary


def test_max_steps_stops_at_exactly_that_many_optimizer_steps(tmp_path):
    steps = []
    training, summary = run(tmp_path, "train.max_steps=6", hook=lambda m: steps.append(1))
    assert len(steps) == 6 and training.progress.global_step == 6 and summary["step"] == 6
    assert training.progress.epoch == 2  # 4 steps in the first epoch, 2 in the second
    assert training.scheduler.last_epoch == 6
    # poly over the step budget: lr x (1 - 6/6) ** 0.9 == 0 at the end
    assert training.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert json.loads((tmp_path / "metrics.json").read_text())["step"] == 6


def test_eval_every_steps_evaluates_at_those_steps_and_at_the_end(tmp_path, monkeypatch):
    seen = []
    real = fit_module._evaluate_epoch

    def spy(training, writer):
        seen.append(training.progress.global_step)
        return real(training, writer)

    monkeypatch.setattr(fit_module, "_evaluate_epoch", spy)
    training, _ = run(tmp_path, "train.max_steps=7", "train.eval_every_steps=3")
    assert seen == [3, 6, 7]
    assert (tmp_path / "checkpoints/best.pt").is_file() and (tmp_path / "checkpoints/last.pt").is_file()


def test_early_stopping_ends_at_the_expected_evaluation_with_best_pt_intact(tmp_path, monkeypatch):
    values = iter([0.50, 0.60, 0.605, 0.601, 0.70, 0.80])  # min_delta 0.01: evaluations 3 and 4 are stale
    monkeypatch.setattr(fit_module, "_evaluate_epoch", lambda training, writer: {"miou": next(values)})
    training, summary = run(tmp_path, "train.epochs=6", "train.early_stopping.patience=2",
                            "train.early_stopping.min_delta=0.01")
    assert training.progress.epoch == 4 and summary["epoch"] == 4
    assert "did not improve by more than 0.01 in 2 evaluations" in summary["stopped_early"]
    best = torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)
    # 0.605 beat 0.60 (best.pt follows any improvement) without counting as progress for early stopping
    assert best["progress"]["best_value"] == 0.605 and best["progress"]["best_epoch"] == 3
    assert summary["best_value"] == 0.605 and summary["best_epoch"] == 3


def test_ema_of_a_tiny_model_equals_the_hand_computed_average():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = ModelEma(model, decay=0.5)
    for value in (2.0, 4.0):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
    # 0 -> 0.5 * 0 + 0.5 * 2 = 1 -> 0.5 * 1 + 0.5 * 4 = 2.5
    assert ema.module.weight.item() == 2.5
    assert model.weight.item() == 4.0


def test_training_with_ema_saves_the_average_of_every_step_and_keeps_raw_weights(tmp_path):
    decay, snapshots = 0.8, []

    def snapshot(model):
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    cfg = config("train.max_steps=5", "train.ema.decay=0.8")
    training = build_training(cfg)
    start = {k: v.detach().clone() for k, v in training.model.state_dict().items()}
    training.optimizer.register_step_post_hook(lambda *_: snapshot(training.model))
    fit(training, tmp_path, cfg)
    state = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert len(snapshots) == 5
    for key, initial in start.items():
        if not initial.is_floating_point():
            assert torch.equal(state["model"][key], snapshots[-1][key]), key
            continue
        expected = initial.double()
        for snap in snapshots:
            expected = decay * expected + (1 - decay) * snap[key].double()
        torch.testing.assert_close(state["model"][key].double(), expected, rtol=1e-5, atol=1e-6)
        assert torch.equal(state["raw_model"][key], snapshots[-1][key]), key


def test_a_frozen_backbone_is_bit_identical_after_training_and_the_rest_trains(tmp_path):
    cfg = config("train.epochs=2", "train.freeze=[backbone]")
    training = build_training(cfg)
    before = {k: v.clone() for k, v in training.model.state_dict().items()}
    fit(training, tmp_path, cfg)
    after = training.model.state_dict()
    frozen = [k for k in before if k.startswith(("stem.", "downs."))]
    assert frozen and any("running_mean" in k for k in frozen)  # BatchNorm statistics frozen too
    for key in frozen:
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])


def test_freeze_epochs_unfreezes_after_the_first_epochs(tmp_path):
    weights = []
    training, _ = run(tmp_path, "train.epochs=2", "train.freeze=[stem]", "train.freeze_epochs=1",
                      hook=lambda m: weights.append(m.state_dict()["stem.0.weight"].clone()))
    assert training.freezer.prefixes == ("stem",)
    initial = weights[0]
    assert all(torch.equal(w, initial) for w in weights[:4])  # epoch 1: frozen
    assert not torch.equal(weights[-1], initial)  # epoch 2: trains


def test_backbone_lr_mult_puts_the_backbone_in_its_own_group():
    cfg = config("train.backbone_lr_mult=0.1")
    from seg_cli.models.build import build_model

    model = build_model(cfg["model"])
    groups = build_param_groups(model, lr=1e-3, backbone_lr_mult=0.1, backbone=backbone_prefixes(model))
    backbone_ids = {id(p) for n, p in model.named_parameters() if n.startswith(("stem.", "downs."))}
    by_lr = {g.get("lr", 1e-3): {id(p) for p in g["params"]} for g in groups}
    assert math.isclose(min(by_lr), 1e-4)
    assert by_lr[min(by_lr)] == backbone_ids
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_backbone_means_each_models_own_encoder_and_unknown_prefixes_list_the_modules():
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    assert backbone_prefixes(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)) == ("backbone",)
    model = build_training.__globals__["build_model"](config()["model"])
    assert resolve_prefixes(model, ["backbone"]) == ("stem", "downs")
    with pytest.raises(ConfigError, match="'encoderx' matches no module of UNet; its top-level modules are: stem, downs, ups, classifier"):
        Freezer(model, ["encoderx"])
