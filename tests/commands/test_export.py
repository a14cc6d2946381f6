"""`seg export`: ONNX and TorchScript files that match PyTorch at any batch size and image size."""

import json
import re

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import FAST_TRAIN, run_dirs, run_seg

SIZES = [(1, 3, 48, 48), (3, 3, 37, 65)]  # the second differs in batch, height and width from the export's


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run (small UNet, synthetic set, base_size 48) to export."""
    root = tmp_path_factory.mktemp("export")
    result = run_seg("train", *FAST_TRAIN, cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def reference_model(root) -> nn.Module:
    """The trained model in PyTorch, rebuilt from its best.pt."""
    from seg_cli.checkpoint import load_checkpoint
    from seg_cli.models.build import build_model

    [run] = run_dirs(root)
    state = load_checkpoint(run / "checkpoints" / "best.pt")
    model = build_model({**state["config"]["model"], "weights": None})
    model.load_state_dict(state["model"])
    return model.eval()


def reported_difference(stdout: str, fmt: str) -> float:
    match = re.search(rf"max \|{fmt} - pytorch\| = (\S+)", stdout)
    assert match, stdout
    return float(match.group(1))


def assert_matches_pytorch(run, model: nn.Module, num_classes: int = 4) -> None:
    generator = torch.Generator().manual_seed(1)
    for shape in SIZES:
        batch = torch.randn(shape, generator=generator)
        with torch.no_grad():
            expected = model(batch).numpy()
        got = run(batch.numpy())
        assert got.shape == expected.shape == (shape[0], num_classes, *shape[2:])
        assert np.abs(got - expected).max() < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("exporter", ["auto", "legacy"])
def test_onnx_export_matches_pytorch_in_onnxruntime_at_other_sizes(trained, exporter):
    pytest.importorskip("onnxruntime")
    from seg_cli.export.onnx_runtime import OnnxSegmenter

    out = trained / f"model_{exporter}.onnx"
    result = run_seg("export", f"out={out}", f"onnx_exporter={exporter}", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    assert reported_difference(result.stdout, "onnx") <= 1e-3
    segmenter = OnnxSegmenter(out)
    assert_matches_pytorch(segmenter, reference_model(trained))
    assert segmenter.metadata["class_names"] == ["background", "circle", "square", "triangle"]
    assert segmenter.metadata["base_size"] == 48


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_matches_pytorch_at_other_sizes(trained):
    out = trained / "model.pt"
    result = run_seg("export", "format=torchscript", f"out={out}", "height=40", "width=56", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert reported_difference(result.stdout, "torchscript") <= 1e-3
    extra = {"seg.json": ""}
    module = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra["seg.json"])["num_classes"] == 4

    def run(batch):
        with torch.no_grad():
            return module(torch.from_numpy(batch)).numpy()

    assert_matches_pytorch(run, reference_model(trained))


@pytest.mark.slow
def test_export_above_tolerance_fails_with_one_line(trained):
    pytest.importorskip("onnxruntime")
    result = run_seg("export", "tolerance=1e-12", f"out={trained / 'strict.onnx'}", cwd=trained)
    assert result.returncode == 1
    assert "differs from PyTorch by" in result.stderr and "tolerance=1e-12" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_export_without_checkpoint_says_where_it_looked(tmp_path):
    result = run_seg("export", cwd=tmp_path)
    assert result.returncode == 1
    assert "no checkpoints/best.pt found under" in result.stderr and "Traceback" not in result.stderr


class TwoHeads(nn.Module):
    """Shaped like torchvision's segmentation models: a dict with "out" and, when present, "aux"."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 5, 3, padding=1)
        self.classifier = nn.Conv2d(5, 2, 1)
        self.aux_classifier = nn.Conv2d(5, 2, 1)

    def forward(self, x):
        features = self.backbone(x)
        out = {"out": self.classifier(features)}
        if self.aux_classifier is not None:
            out["aux"] = self.aux_classifier(features)
        return out


def test_dict_models_export_only_the_out_logits(tmp_path):
    pytest.importorskip("onnxruntime")
    from seg_cli.export import exporters as ex
    from seg_cli.export.onnx_runtime import OnnxSegmenter

    model = TwoHeads().eval()
    with torch.no_grad():
        expected = model(torch.ones(1, 3, 20, 24))["out"].numpy()
    wrapped = ex.LogitsOnly(model).eval()
    path = tmp_path / "two_heads.onnx"
    ex.export_onnx(wrapped, torch.randn(2, 3, 16, 16), path, None, ex.choose_onnx_exporter("auto"))
    segmenter = OnnxSegmenter(path)
    assert [o.name for o in segmenter.session.get_outputs()] == ["logits"]
    assert np.abs(segmenter(np.ones((1, 3, 20, 24), np.float32)) - expected).max() < 1e-5


def test_onnx_segmenter_refuses_missing_and_broken_files(tmp_path):
    pytest.importorskip("onnxruntime")
    from seg_cli.errors import CheckpointError
    from seg_cli.export.onnx_runtime import OnnxSegmenter

    with pytest.raises(CheckpointError, match="file not found"):
        OnnxSegmenter(tmp_path / "nothing.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        OnnxSegmenter(tmp_path / "broken.onnx")


@pytest.mark.slow
def test_a_format_of_another_family_is_one_line_naming_those_that_fit(trained):
    result = run_seg("export", "format=hf", cwd=trained)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("seg: error: format=hf exports model=hf checkpoints; this "
                                                      "checkpoint's model exports as: onnx, torchscript")
