"""format=hf and format=smp write folders that the libraries' own `from_pretrained` load, giving the logits of
seg's model; the image processor loads with the run's normalisation. In-process, on tiny random models."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from seg_cli.export.formats import build_format

METADATA = {"class_names": ["background", "road", "car"], "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3],
            "num_classes": 3}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["segformer", "upernet"])
def test_format_hf_loads_with_transformers_auto_classes(kind, tmp_path):
    transformers = pytest.importorskip("transformers")
    from seg_cli.models.hf import HfAdapter
    from tests.models.test_hf import tiny_segformer, tiny_upernet

    torch.manual_seed(0)
    config = {"segformer": tiny_segformer, "upernet": tiny_upernet}[kind]().config
    config.num_labels = 3
    model = HfAdapter(transformers.AutoModelForSemanticSegmentation.from_config(config)).eval()
    written = build_format("hf", model).write(model, torch.randn(2, 3, 40, 56), tmp_path / "out", METADATA, False)

    loaded = transformers.AutoModelForSemanticSegmentation.from_pretrained(tmp_path / "out").eval()
    assert loaded.config.id2label == {0: "background", 1: "road", 2: "car"} and loaded.config.label2id["car"] == 2
    images = torch.randn(1, 3, 37, 45)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=images).logits, model.model(pixel_values=images).logits)
        assert abs(written.run(images.numpy()) - model(images)["out"].numpy()).max() == 0
    if kind == "upernet":  # the auxiliary head travels too, for further training
        assert loaded.auxiliary_head is not None
    processor = transformers.AutoImageProcessor.from_pretrained(tmp_path / "out")
    assert list(processor.image_mean) == METADATA["mean"] and processor.size["height"] == 40


@pytest.mark.slow
def test_format_smp_loads_with_smps_from_pretrained(tmp_path):
    smp_lib = pytest.importorskip("segmentation_models_pytorch")
    from seg_cli.models.smp import smp

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smp(3, 3, "fpn", "tu-test_convnext").eval()
    model.model.config["encoder_weights"] = "imagenet"  # as a run from ImageNet weights records it
    written = build_format("smp", model).write(model, torch.randn(2, 3, 64, 64), tmp_path / "out", METADATA, False)
    assert json.loads((tmp_path / "out" / "config.json").read_text())["encoder_weights"] is None  # loads offline
    assert model.model.config["encoder_weights"] == "imagenet"  # the run's model is left as it was

    loaded = smp_lib.from_pretrained(str(tmp_path / "out")).eval()
    images = torch.randn(1, 3, 64, 96)  # SMP's own models take multiples of the stride
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model.model(images))
    assert abs(written.run(torch.randn(1, 3, 37, 45).numpy())).max() > 0  # seg's adapter: any size
    assert (tmp_path / "out" / "seg.json").is_file()
