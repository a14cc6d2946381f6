"""model=hf (seg_cli.models.hf): tiny random SegFormer and UperNet saved with save_pretrained meet the contract at an
odd size, load their weights (another class count re-initialises only the head), fail in one line offline, and the
CLI trains, evaluates and predicts with one. HF_HUB_OFFLINE=1 throughout: nothing waits on the network."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time

import pytest
import torch

from seg_cli.engine.freeze import Freezer
from seg_cli.errors import ConfigError
from seg_cli.models.contract import family_spec, spec_of
from seg_cli.models.hf import SPEC, hf
from tests.helpers import FAST_TRAIN, assert_predicts_at_photo_size, run_dirs
from tests.seg_process import SegProcess

transformers = pytest.importorskip("transformers")
ODD = (37, 45)
SAVED_CLASSES = 5


def tiny_segformer() -> torch.nn.Module:
    config = transformers.SegformerConfig(hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1],
                                          num_attention_heads=[1, 1, 1, 1], decoder_hidden_size=16,
                                          num_labels=SAVED_CLASSES)
    return transformers.SegformerForSemanticSegmentation(config)


def tiny_upernet() -> torch.nn.Module:
    backbone = transformers.ConvNextConfig(hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1],
                                           out_features=["stage1", "stage2", "stage3", "stage4"])
    config = transformers.UperNetConfig(backbone_config=backbone, hidden_size=16, auxiliary_channels=8,
                                        num_labels=SAVED_CLASSES)
    return transformers.UperNetForSemanticSegmentation(config)


TINY = {"segformer": (tiny_segformer, "model.segformer"), "upernet": (tiny_upernet, "model.backbone")}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture(params=sorted(TINY))
def saved(request, tmp_path):
    """(architecture, folder written by save_pretrained, the saved model)."""
    torch.manual_seed(0)
    model = TINY[request.param][0]()
    model.save_pretrained(tmp_path / request.param)
    return request.param, str(tmp_path / request.param), model


@pytest.mark.parametrize("pretrained", [True, False])
def test_the_contract_at_an_odd_size(saved, pretrained):
    arch, folder, _ = saved
    model = hf(3, name=folder, pretrained=pretrained).train()
    outputs = model(torch.randn(2, 3, *ODD))
    expected = ["out", "aux"] if arch == "upernet" else ["out"]  # UperNet's auxiliary FCN head
    assert list(outputs) == expected and all(v.shape == (2, 3, *ODD) for v in outputs.values())
    assert all(key.startswith("model.") for key in model.state_dict())
    spec = spec_of(model)
    assert spec.encoder == (TINY[arch][1],) and spec.download_keys == ("pretrained",)
    assert spec.aux_heads == (("model.auxiliary_head",) if arch == "upernet" else ())
    assert family_spec({"_target_": "seg_cli.models.hf.hf"}) == SPEC
    assert Freezer(model, ["backbone"]).prefixes == (TINY[arch][1],)  # train.freeze=[backbone]


def test_pretrained_with_another_class_count_reinitialises_only_the_head(saved, caplog):
    _, folder, original = saved
    with caplog.at_level(logging.INFO, logger="seg_cli.models.hf"):
        model = hf(3, name=folder, pretrained=True)
    saved_state = original.state_dict()
    changed = {key for key, value in model.model.state_dict().items()
               if value.shape != saved_state[key].shape or not torch.equal(value, saved_state[key])}
    assert changed and all(".classifier." in key for key in changed)  # decode (and auxiliary) head classifiers
    lines = [r.getMessage() for r in caplog.records if r.name == "seg_cli.models.hf"]
    assert len(lines) == 1 and f"{SAVED_CLASSES} classes in the checkpoint, num_classes=3" in lines[0]


def test_pretrained_with_the_same_class_count_loads_every_weight(saved):
    _, folder, original = saved
    model = hf(SAVED_CLASSES, name=folder, pretrained=True)
    torch.testing.assert_close(model.model.state_dict(), original.state_dict(), rtol=0, atol=0)


def test_pretrained_false_gives_random_weights(saved):
    _, folder, original = saved
    torch.manual_seed(1)
    model = hf(SAVED_CLASSES, name=folder, pretrained=False)
    saved_state = original.state_dict()
    assert any(not torch.equal(value, saved_state[key]) for key, value in model.model.state_dict().items()
               if key.endswith("weight") and value.dim() > 1)


def test_grey_images(saved):
    arch, folder, _ = saved
    model = hf(2, 1, folder, pretrained=True).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, *ODD))["out"].shape == (1, 2, *ODD)


# Tiny configs of the other architectures, built by model type (random, offline) with options.
VIT = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64, "image_size": 64,
       "patch_size": 8}
OTHERS = {
    "beit": ({**VIT, "out_indices": [1, 2, 3, 4], "pool_scales": [1, 2], "auxiliary_channels": 8}, "model.beit"),
    "data2vec-vision": ({**VIT, "out_indices": [1, 2, 3, 4], "pool_scales": [1, 2], "auxiliary_channels": 8},
                        "model.data2vec_vision"),
    "dpt": ({**VIT, "neck_hidden_sizes": [8, 8, 16, 16], "fusion_hidden_size": 16, "backbone_out_indices": [0, 1, 2, 3]},
            "model.dpt"),
    "mobilevit": ({"hidden_sizes": [16, 24, 32], "neck_hidden_sizes": [8, 8, 16, 16, 24, 32, 64], "image_size": 64,
                   "aspp_out_channels": 16}, "model.mobilevit"),
    "mobilevitv2": ({"width_multiplier": 0.5, "aspp_out_channels": 16}, "model.mobilevitv2"),
    "mobilenet_v2": ({"depth_multiplier": 0.35}, "model.mobilenet_v2"),
}


@pytest.mark.parametrize("model_type", sorted(OTHERS))
def test_other_architectures_at_an_odd_size_and_grey(model_type):
    options, encoder = OTHERS[model_type]
    model = hf(2, 1, model_type, options=options).train()
    outputs = model(torch.randn(2, 1, *ODD))
    assert all(value.shape == (2, 2, *ODD) for value in outputs.values())
    assert spec_of(model).encoder == (encoder,)
    assert ("aux" in outputs) == bool(spec_of(model).aux_heads)  # BEiT, Data2Vec, DPT: the auxiliary head


def test_a_model_type_builds_random_and_offline():
    model = hf(2, name="segformer")
    assert type(model.model).__name__ == "SegformerForSemanticSegmentation"
    with pytest.raises(ConfigError, match="model.name=segformer is a model type, which has no weights"):
        hf(2, name="segformer", pretrained=True)


def test_an_uncached_hub_id_is_one_line_at_once():
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        hf(2, name="nvidia/segformer-b0-finetuned-ade-512-512", pretrained=True)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith("model.name=nvidia/segformer-b0-finetuned-ade-512-512 is not in the Hugging Face "
                              "cache (") and "HF_HUB_OFFLINE is set" in message and "\n" not in message
    assert "hf download nvidia/segformer-b0-finetuned-ade-512-512" in message


@pytest.mark.parametrize("name,options,message", [
    ("bert", {}, "model.name=bert is a bert model, not a semantic-segmentation one; these are: beit, "),
    ("segformer", {"hiden_dropout_prob": 0.2}, "model.options.hiden_dropout_prob is not a key of the segformer "
                                               "config; close: hidden_dropout_prob"),
    ("segformer", {"num_labels": 4}, "model.options.num_labels is set by model.num_classes"),
    ("/no/such/folder", {}, "model.name=/no/such/folder: no folder with a config.json"),
])
def test_errors_are_one_line(name, options, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")) as info:
        hf(2, name=name, options=options)
    assert "\n" not in str(info.value)


def test_a_folder_without_weights_is_one_line(tmp_path):
    tiny_segformer().config.save_pretrained(tmp_path / "config-only")
    assert hf(2, name=str(tmp_path / "config-only")).model.config.num_labels == 2  # random: the config is enough
    with pytest.raises(ConfigError, match=r"model\.name=.*config-only: no weights found") as info:
        hf(2, name=str(tmp_path / "config-only"), pretrained=True)
    assert "\n" not in str(info.value)


def test_options_reach_the_config():
    model = hf(2, name="segformer", options={"decoder_hidden_size": 32})
    assert model.model.config.decoder_hidden_size == 32 and model.model.config.num_labels == 2


def test_importing_the_family_does_not_import_transformers():
    code = ("import sys, seg_cli.models.hf, seg_cli.cli; sys.argv = ['seg', 'train', 'model=hf', '--help']\n"
            "try:\n    seg_cli.cli.main()\nexcept SystemExit:\n    pass\nassert 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_train_eval_and_predict_an_odd_photo(tmp_path):

    torch.manual_seed(0)
    tiny_segformer().save_pretrained(tmp_path / "tiny")
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    model = ["model=hf", "model.name=./tiny", "model.pretrained=true"]  # relative to the working directory
    with SegProcess(tmp_path, offline) as seg:
        result = seg.run("train", *FAST_TRAIN, *model)
        assert result.returncode == 0, result.stderr
        ckpt = run_dirs(tmp_path)[-1] / "checkpoints" / "best.pt"
        stored = torch.load(ckpt, weights_only=False)["config"]["model"]
        assert stored["name"] == str(tmp_path / "tiny") and stored["config"]["model_type"] == "segformer"
        shutil.rmtree(tmp_path / "tiny")  # the checkpoint carries the architecture: neither folder nor hub needed
        result = seg.run("eval", f"ckpt={ckpt}", "workers=0")
        assert result.returncode == 0, result.stderr

        assert_predicts_at_photo_size(ckpt, tmp_path, seg)


@pytest.mark.slow
def test_onnx_export_of_a_segformer_keeps_height_and_width_dynamic(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime

    from seg_cli.export.exporters import LogitsOnly, choose_onnx_exporter, export_onnx

    tiny_segformer().save_pretrained(tmp_path / "tiny")
    model = hf(2, name=str(tmp_path / "tiny")).eval()
    export_onnx(LogitsOnly(model).eval(), torch.randn(2, 3, 64, 96), tmp_path / "m.onnx", None,
                choose_onnx_exporter("auto"))
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    for size in [(64, 96), ODD]:
        images = torch.randn(1, 3, *size)
        (logits,) = session.run(None, {session.get_inputs()[0].name: images.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(logits), model(images)["out"], atol=1e-4, rtol=1e-4)


def test_options_of_a_nested_config_set_its_attributes():
    model = hf(2, name="upernet", options={"backbone_config": {"hidden_sizes": [8, 8, 16, 16], "depths": [1, 1, 1, 1]},
                                           "hidden_size": 16, "auxiliary_channels": 8})
    assert model.model.config.backbone_config.hidden_sizes == [8, 8, 16, 16]
    assert model.eval()(torch.randn(1, 3, 37, 45))["out"].shape == (1, 2, 37, 45)
    with pytest.raises(ConfigError, match=r"model\.options\.backbone_config\.hiden_sizes is not a key of the resnet "
                                          r"config; close: hidden_sizes"):
        hf(2, name="upernet", options={"backbone_config": {"hiden_sizes": [8, 8, 16, 16]}})


def test_a_folder_named_after_a_model_type_leaves_the_type_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "segformer").mkdir()  # e.g. a clone or an output folder in the working directory
    assert type(hf(2, name="segformer").model).__name__ == "SegformerForSemanticSegmentation"
    with pytest.raises(ConfigError, match=r"model\.name=\./segformer: no folder with a config\.json"):
        hf(2, name="./segformer")  # written as a path, it is the folder
