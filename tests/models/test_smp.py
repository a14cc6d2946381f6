"""model=smp (seg_cli.models.smp): every SMP architecture meets the contract at odd sizes, names are checked with
close matches, and the CLI trains, evaluates offline and predicts with it."""

from __future__ import annotations

import warnings

import pytest
import torch

from seg_cli.engine.freeze import Freezer
from seg_cli.errors import ConfigError
from seg_cli.models.contract import family_spec, spec_of
from seg_cli.models.smp import SPEC, SmpAdapter, smp
from tests.helpers import FAST_TRAIN, assert_predicts_at_photo_size, run_dirs
from tests.seg_process import SegProcess

pytest.importorskip("segmentation_models_pytorch")
ARCHS = ["unet", "unetplusplus", "manet", "linknet", "fpn", "pspnet", "deeplabv3", "deeplabv3plus", "pan", "upernet",
         "segformer", "dpt"]
# timm's test models: random weights, a few hundred thousand parameters; DPT takes only ViTs.
LIGHT = {"dpt": "tu-test_vit"}
ODD = (70, 45)


def light(arch: str, num_classes: int = 3, in_channels: int = 3, **options) -> SmpAdapter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SMP's notes on DPT readout and deprecated names
        return smp(num_classes, in_channels, arch, LIGHT.get(arch, "tu-test_convnext"), options=options)


def test_every_architecture_is_tested():
    import segmentation_models_pytorch

    assert sorted(segmentation_models_pytorch.MODEL_ARCHITECTURES_MAPPING) == sorted(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_meets_the_contract_at_an_odd_size(arch):
    torch.manual_seed(0)
    model = light(arch).eval()
    with torch.no_grad():
        outputs = model(torch.randn(2, 3, *ODD))
    assert list(outputs) == ["out"] and outputs["out"].shape == (2, 3, *ODD)
    assert spec_of(model) == SPEC and family_spec({"_target_": "seg_cli.models.smp.smp"}) == SPEC
    keys = list(model.state_dict())
    assert keys and all(key.startswith("model.") for key in keys)
    assert any(key.startswith("model.encoder.") for key in keys)
    assert Freezer(model, ["backbone"]).prefixes == ("model.encoder",)  # train.freeze, train.backbone_lr_mult


@pytest.mark.parametrize("arch", ["unet", "fpn", "segformer"])
@pytest.mark.parametrize("in_channels", [1, 4])
def test_grey_and_multiband_inputs(arch, in_channels):
    model = light(arch, num_classes=1, in_channels=in_channels).eval()
    with torch.no_grad():
        assert model(torch.randn(1, in_channels, 33, 50))["out"].shape == (1, 1, 33, 50)


def test_state_dict_keys_are_smps_own_under_model():
    import segmentation_models_pytorch

    inner = segmentation_models_pytorch.Unet("resnet18", encoder_weights=None, classes=2)
    model = smp(2, arch="unet", encoder="resnet18")
    assert list(model.state_dict()) == [f"model.{key}" for key in inner.state_dict()]


def test_the_input_is_padded_to_the_stride_and_the_logits_cropped_back():
    model = light("fpn").eval()
    assert model.multiple == 32 and model.padding(70) == 26 and model.padding(64) == 0
    seen = []
    model.model.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    images = torch.randn(1, 3, *ODD)
    with torch.no_grad():
        logits = model(images)["out"]
        padded = torch.nn.functional.pad(images, (0, 64 - 45, 0, 96 - 70))
        whole = model.model(padded)
    assert seen[0] == (1, 3, 96, 64)
    torch.testing.assert_close(logits, whole[..., :70, :45])  # top-left aligned: the crop is exact, not resized


def test_architecture_rules_from_smps_source():
    assert light("unet").multiple == 1  # SMP's Unet resizes its skips itself
    assert light("pspnet").multiple == 8  # encoder_depth 3
    assert light("deeplabv3plus").multiple == 16 and light("deeplabv3", encoder_output_stride=16).multiple == 16
    assert light("dpt").multiple == 32  # ViT patch 16, last feature reassembled at half resolution
    pan = light("pan")
    assert (pan.multiple, pan.min_side, pan.padding(45)) == (16, 128, 83)


@pytest.mark.slow
def test_onnx_export_keeps_height_and_width_dynamic_through_the_padding(tmp_path):
    pytest.importorskip("onnxruntime")
    from seg_cli.export.exporters import LogitsOnly, choose_onnx_exporter, export_onnx

    model = light("fpn", num_classes=2).eval()
    export_onnx(LogitsOnly(model).eval(), torch.randn(2, 3, 64, 96), tmp_path / "m.onnx", None,
                choose_onnx_exporter("auto"))
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    for size in [(64, 96), ODD, (33, 50)]:
        images = torch.randn(1, 3, *size)
        (logits,) = session.run(None, {session.get_inputs()[0].name: images.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(logits), model(images)["out"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch,encoder,message", [
    ("upernett", "resnet18", "model.arch=upernett is not an SMP architecture; close: upernet"),
    ("unet", "resnet19", "model.encoder=resnet19 is not an SMP encoder; close: resnet18"),
    ("unet", "tu-convnext_tinyy", "model.encoder=tu-convnext_tinyy is not a timm model; close: tu-convnext_tiny"),
])
def test_unknown_names_are_one_line_with_close_matches(arch, encoder, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as info:
        smp(2, arch=arch, encoder=encoder)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("options,message", [
    ({"decoder_chanels": [8, 8, 8, 8, 8]}, "model.options.decoder_chanels is not an option of SMP unet; "
                                           "close: decoder_channels"),
    ({"encoder_name": "resnet34"}, "model.options.encoder_name is set by model.encoder"),
    ({"activation": "sigmoid"}, "model.options.activation is not allowed"),
])
def test_options_the_architecture_does_not_take_are_named(options, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        smp(2, arch="unet", encoder="resnet18", options=options)


def test_options_a_timm_encoder_does_not_take_are_named():
    with pytest.raises(ConfigError, match=r"model\.options\.foo: .*unexpected keyword argument 'foo'"):
        light("unet", foo=1)


def test_options_reach_the_architecture():
    model = smp(2, arch="unet", encoder="resnet18", options={"decoder_channels": [32, 16, 16, 8, 8]})
    assert model.model.segmentation_head[0].in_channels == 8


def test_a_checkpoint_trained_from_imagenet_weights_rebuilds_with_nothing_downloaded(tmp_path, monkeypatch):
    import segmentation_models_pytorch.encoders as encoders

    from seg_cli.checkpoint import save_checkpoint
    from seg_cli.engine.trained import load_trained_model

    def no_network(*args, **kwargs):
        raise RuntimeError("downloaded")

    monkeypatch.setattr(encoders, "hf_hub_download", no_network)
    cfg = {"_target_": "seg_cli.models.smp.smp", "num_classes": 2, "in_channels": 3, "arch": "fpn",
           "encoder": "resnet18", "pretrained_backbone": True, "options": {}, "weights": None}
    with pytest.raises(RuntimeError, match="downloaded"):  # the guard works: building as configured would fetch
        smp(2, arch="fpn", encoder="resnet18", pretrained_backbone=True)
    trained = smp(2, arch="fpn", encoder="resnet18")
    save_checkpoint({"model": trained.state_dict(), "config": {"model": cfg}}, tmp_path / "best.pt")
    model, config, _ = load_trained_model(tmp_path / "best.pt", {}, "cpu")
    assert config["model"]["pretrained_backbone"] is True
    torch.testing.assert_close(model.state_dict(), trained.state_dict())


@pytest.mark.slow
def test_train_eval_offline_and_predict_an_odd_photo(tmp_path):

    model = ["model=smp", "model.arch=fpn", "model.encoder=resnet18"]
    # offline throughout, with empty caches: the checkpoint must rebuild with nothing downloaded
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch")}
    with SegProcess(tmp_path, offline) as seg:
        result = seg.run("train", *FAST_TRAIN, *model)
        assert result.returncode == 0, result.stderr
        ckpt = run_dirs(tmp_path)[-1] / "checkpoints" / "best.pt"

        # A checkpoint of a run that started from ImageNet weights rebuilds with nothing downloaded.
        state = torch.load(ckpt, weights_only=True)
        assert state["config"]["model"]["pretrained_backbone"] is False
        state["config"]["model"]["pretrained_backbone"] = True
        torch.save(state, ckpt)
        result = seg.run("eval", f"ckpt={ckpt}", "workers=0")
        assert result.returncode == 0, result.stderr

        assert_predicts_at_photo_size(ckpt, tmp_path, seg)
