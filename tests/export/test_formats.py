"""seg_cli.export.formats: one module per `format=` value, found by listing the folder; a format that does not fit
the checkpoint's family is one line naming those that do; which models are size-bound (measured: README)."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from seg_cli.choices import EXPORT_FORMATS
from seg_cli.errors import ConfigError
from seg_cli.export.formats import build_format, format_class, formats_for
from seg_cli.models.contract import ContractAdapter, size_bound


def smp_model(arch: str) -> nn.Module:
    from seg_cli.models.smp import smp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smp(3, 3, arch, "tu-test_vit" if arch == "dpt" else "tu-test_convnext")


def hf_model(model_type: str) -> nn.Module:
    pytest.importorskip("transformers")
    from seg_cli.models.hf import hf
    from tests.models.test_hf import OTHERS, tiny_segformer, tiny_upernet

    if model_type in ("segformer", "upernet"):
        config = {"segformer": tiny_segformer, "upernet": tiny_upernet}[model_type]().config
        return _from_config(config)
    return hf(3, name=model_type, options=OTHERS[model_type][0])


def _from_config(config) -> nn.Module:
    import transformers

    from seg_cli.models.hf import HfAdapter

    config.num_labels = 3
    return HfAdapter(transformers.AutoModelForSemanticSegmentation.from_config(config))


def test_the_formats_are_the_modules_of_the_folder():
    folder = Path(importlib.import_module("seg_cli.export.formats").__file__).parent
    assert sorted(EXPORT_FORMATS) == sorted(p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "base"))
    assert EXPORT_FORMATS[0] == "onnx"  # the default of configs/export.yaml
    assert all(format_class(name).name == name for name in EXPORT_FORMATS)


def test_an_unknown_format_is_one_line():
    with pytest.raises(ConfigError, match="format='tflite' is not allowed; choose from: onnx, "):
        format_class("tflite")


def test_the_family_formats_fit_their_family_only():
    plain = nn.Conv2d(3, 2, 1)
    assert formats_for(plain) == ["onnx", "torchscript"]
    assert formats_for(smp_model("fpn")) == ["onnx", "smp", "torchscript"]
    assert formats_for(hf_model("segformer")) == ["onnx", "hf", "torchscript"]
    with pytest.raises(ConfigError) as info:
        build_format("hf", smp_model("fpn"))
    assert str(info.value) == ("format=hf exports model=hf checkpoints; this checkpoint's model exports as: onnx, smp, "
                               "torchscript")


# Measured (README "Export"): ONNX of these is wrong or fails at sizes other than the export's.
SMP_BOUND = {"pspnet", "upernet"}
HF_BOUND = {"upernet", "beit", "dpt"}  # Data2Vec-Vision pools to bins too, but its input is resized to one size


@pytest.mark.parametrize("arch", ["unet", "unetplusplus", "manet", "linknet", "fpn", "pspnet", "deeplabv3",
                                  "deeplabv3plus", "pan", "upernet", "segformer", "dpt"])
def test_smp_architectures_with_pyramid_pooling_are_size_bound(arch):
    assert size_bound(smp_model(arch)) == (arch in SMP_BOUND)


@pytest.mark.parametrize("model_type", ["segformer", "upernet", "beit", "data2vec-vision", "dpt", "mobilevit"])
def test_hf_heads_with_pyramid_pooling_are_size_bound(model_type):
    assert size_bound(hf_model(model_type)) == (model_type in HF_BOUND)


def test_an_adapter_declares_a_size_bound_model_in_one_line():
    class FixedQueries(ContractAdapter):
        size_bound = True  # what a Mask2Former adapter writes

    class OneSize(ContractAdapter):
        size_bound = False  # pools to bins, but is always fed one size

    assert size_bound(FixedQueries(nn.Conv2d(3, 2, 1))) and not size_bound(ContractAdapter(nn.Conv2d(3, 2, 1)))
    assert not size_bound(OneSize(nn.AdaptiveAvgPool2d(2))) and size_bound(ContractAdapter(nn.AdaptiveAvgPool2d(2)))
    assert size_bound(nn.Sequential(nn.AdaptiveAvgPool2d((2, 3)))) and not size_bound(nn.AdaptiveAvgPool2d(1))


def test_a_binary_models_one_channel_is_named_after_its_foreground():
    from seg_cli.export.formats.hf import label_names

    assert label_names(["background", "salient"], 1) == ["salient"]
    assert label_names(["a", "b", "c"], 3) == ["a", "b", "c"]


@pytest.mark.parametrize("model_type", ["segformer", "upernet", "dpt", "beit", "data2vec-vision", "mobilevit",
                                        "mobilenet_v2"])
def test_the_image_processor_prepares_images_as_seg_does(model_type):
    pytest.importorskip("transformers")
    import numpy as np

    from seg_cli.export.formats.hf import image_processor

    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    processor = image_processor(model_type, {"mean": mean, "std": std}, (40, 56))
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    got = processor(images=image, return_tensors="pt")["pixel_values"]
    expected = (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - torch.tensor(mean)[:, None, None]) \
        / torch.tensor(std)[:, None, None]
    assert got.shape == (1, 3, 40, 56)
    torch.testing.assert_close(got[0], expected, atol=1e-4, rtol=1e-4)
