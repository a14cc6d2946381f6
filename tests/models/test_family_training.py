"""The smp and hf families under seg's training options: AMP, channels_last, EMA and a frozen-then-thawed encoder
train, and a run stopped after one epoch and resumed ends with exactly the metrics of the run that never
stopped (dropout and drop-path draw from the resumed RNG state)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import FAST_TRAIN, run_seg

pytest.importorskip("transformers")
OPTIONS = ["train.deterministic=true", "train.amp=true", "train.channels_last=true", "train.ema.decay=0.9",
           "train.freeze=[backbone]", "train.freeze_epochs=1", "train.backbone_lr_mult=0.1"]


def family_overrides(family: str, root) -> list[str]:
    if family == "smp":
        return ["model=smp", "model.arch=fpn", "model.encoder=tu-test_convnext"]
    from tests.models.test_hf import tiny_segformer

    torch.manual_seed(0)
    tiny_segformer().save_pretrained(root / "tiny")
    return ["model=hf", f"model.name={root / 'tiny'}", "model.pretrained=true", "model.options.drop_path_rate=0.2"]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["smp", "hf"])
def test_training_options_and_an_exact_resume(family, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    common = [*FAST_TRAIN, *OPTIONS, *family_overrides(family, tmp_path)]
    whole = run_seg("train", *common, "train.epochs=2", "hydra.run.dir=whole", cwd=tmp_path, env=env)
    assert whole.returncode == 0, whole.stderr
    half = run_seg("train", *common, "train.epochs=1", "hydra.run.dir=half", cwd=tmp_path, env=env)
    assert half.returncode == 0, half.stderr
    resumed = run_seg("train", "train.resume=half/checkpoints/last.pt", "train.epochs=2", "hydra.run.dir=resumed",
                      cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    expected = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert json.loads((tmp_path / "resumed" / "metrics.json").read_text())["miou"] == expected["miou"]
    state = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=False)
    assert "raw_model" in state  # EMA: the average is "model", the trained weights "raw_model"
