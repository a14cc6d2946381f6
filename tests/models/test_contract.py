"""The model contract (seg_cli.models.contract): every model YAML meets it, and a model of another library
(quarter-resolution logits in a ModelOutput-like object) plugs in through the adapter and trains, predicts
and exports through seg's own code."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import replace

import pytest
import torch
from torch import nn

from seg_cli.engine.freeze import Freezer, backbone_prefixes
from seg_cli.engine.inference import predict_logits
from seg_cli.engine.loop import train_one_epoch
from seg_cli.engine.optim import build_param_groups
from seg_cli.export.exporters import LogitsOnly
from seg_cli.losses.cross_entropy import SegmentationLoss
from seg_cli.models.build import build_model
from seg_cli.models.contract import (
    ContractAdapter,
    ModelSpec,
    deep_supervision,
    family_spec,
    model_outputs,
    spec_of,
    to_contract,
)
from seg_cli.utils import import_target
from tests.models.fixtures import model_yaml, offline_models

MODELS = offline_models()
# Several seconds each on a shared 2-core CPU; every family but VGG-FCN and DeepLabV3+ keeps a quick one.
HEAVY = {"deeplabv3_resnet101", "fcn_resnet101", "deeplabv3plus_resnet101", "deeplabv3_resnet50", "fcn_resnet50",
         "deeplabv3plus_resnet50", "u2net", "fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16"}
SIZE = (32, 40)


def yaml_cfg(name: str) -> dict:
    cfg = model_yaml(name)
    params = inspect.signature(import_target(cfg["_target_"])).parameters
    offline = {key: False for key in params if key.startswith("pretrained")}
    return {**cfg, "num_classes": 2, "in_channels": 3, **offline}


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in MODELS])
def test_every_model_meets_the_contract(name):
    cfg = yaml_cfg(name)
    model = build_model(cfg).train()
    with torch.no_grad():
        outputs = model_outputs(model(torch.randn(2, 3, *SIZE)))
    assert all(value.shape == (2, 2, *SIZE) for value in outputs.values()), {k: v.shape for k, v in outputs.items()}
    modules = dict(model.named_modules())
    declared = family_spec(cfg)
    # A family of several architectures (hf) declares each one's backbone name; a model has at least one of them.
    encoder = tuple(name for name in declared.encoder if name in modules)
    assert encoder
    present = tuple(name for name in declared.aux_heads if name in modules)  # lraspp: no aux head
    assert spec_of(model) == replace(declared, encoder=encoder, aux_heads=present)
    params = inspect.signature(import_target(cfg["_target_"])).parameters
    assert set(declared.download_keys) == {key for key in params if key.startswith("pretrained")}
    assert not any("seg_spec" in key for key in model.state_dict()), "the declaration is no tensor"


def test_outputs_of_other_libraries_come_to_the_contract():
    logits = torch.randn(1, 3, 4, 5)
    assert to_contract(logits, (4, 5))["out"] is logits
    assert to_contract(QuarterOutput(logits=logits, aux_logits=logits), (8, 10))["aux"].shape == (1, 3, 8, 10)
    assert set(to_contract({"out": logits, "side1": logits}, (4, 5))) == {"out", "side1"}
    with pytest.raises(TypeError, match="meets no form of the model contract"):
        to_contract([logits], (4, 5))
    outputs = {"out": logits, "aux": logits, "side1": logits + 1, "side2": logits + 2}
    assert [name for name, _ in deep_supervision(outputs)] == ["side1", "side2"]


class QuarterOutput(OrderedDict):
    """Shaped like a transformers ModelOutput: a mapping whose fields are also attributes."""

    def __init__(self, **fields: torch.Tensor) -> None:
        super().__init__(**fields)
        self.__dict__.update(fields)


class QuarterNet(nn.Module):
    """A throw-away model of 'another library': quarter-resolution logits in a ModelOutput-like object."""

    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 3, stride=4, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.decode_head = nn.Conv2d(8, num_classes, 1)
        self.aux_head = nn.Conv2d(8, num_classes, 1)

    def forward(self, pixel_values: torch.Tensor) -> QuarterOutput:
        features = self.encoder(pixel_values)
        fields = {"logits": self.decode_head(features)}
        if self.aux_head is not None:
            fields["aux_logits"] = self.aux_head(features)
        return QuarterOutput(**fields)


SPEC = ModelSpec(encoder=("model.encoder",), aux_heads=("model.aux_head",))


def quarter_net(num_classes: int, in_channels: int = 3) -> nn.Module:
    """The builder a YAML's `_target_` would name: the foreign model wrapped in the adapter."""
    return ContractAdapter(QuarterNet(num_classes, in_channels), SPEC)


def test_a_foreign_model_trains_predicts_and_exports_through_the_adapter():
    torch.manual_seed(0)
    cfg = {"_target_": f"{__name__}.quarter_net", "num_classes": 3, "in_channels": 3}
    model = build_model(cfg)
    assert family_spec(cfg) == spec_of(model) == SPEC and backbone_prefixes(model) == ("model.encoder",)
    groups = build_param_groups(model, lr=0.1, aux_lr_mult=10)
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.model.aux_head.parameters()}
    assert groups[1]["lr"] == pytest.approx(1.0)
    freezer = Freezer(model, ["backbone"])
    assert freezer.prefixes == ("model.encoder",)

    images, masks = torch.randn(2, 3, 30, 42), torch.randint(0, 3, (2, 30, 42))
    before = model.model.decode_head.weight.detach().clone()
    optimizer = torch.optim.SGD(groups, lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    result = train_one_epoch(model, SegmentationLoss(), optimizer, [(images, masks)], scheduler,
                             torch.device("cpu"), 0)
    assert torch.isfinite(torch.tensor(result.mean_loss)) and not torch.equal(before, model.model.decode_head.weight)

    model.eval()
    logits = predict_logits(model, images[:1], num_classes=3)
    assert logits.shape == (1, 3, 30, 42)
    exported = LogitsOnly(model).eval()
    assert model.model.aux_head is None and spec_of(model).aux_heads == ()
    with torch.no_grad():
        assert torch.allclose(exported(images[:1]), logits, atol=1e-6)
