"""A size-bound model (pyramid pooling) exported to ONNX: only the batch stays dynamic, the file records its size,
OnnxSegmenter refuses other sizes in one line, and `seg predict`'s OnnxModel resizes to it and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.errors import SegError
from seg_cli.export.formats import build_format
from seg_cli.models.contract import ContractAdapter, size_bound

pytest.importorskip("onnxruntime")


class Pyramid(nn.Module):
    """Pyramid pooling in a few lines: wrong in ONNX at any size but the export's."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.head = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        pooled = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([x, pooled], 1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = ContractAdapter(Pyramid()).eval()
    assert size_bound(model)
    path = tmp_path_factory.mktemp("fixed") / "m.onnx"
    fmt = build_format("onnx", model, onnx_exporter="legacy")
    written = fmt.write(model, torch.randn(2, 3, 24, 36), path, {"num_classes": 2}, True)
    return model, path, written


def test_the_file_takes_its_export_size_only(exported):
    import onnx

    model, path, written = exported
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1:] == [3, 24, 36] and dims[0].dim_param  # the batch stays dynamic
    assert written.fixed_size == (24, 36) and "pyramid pooling" in written.why
    images = torch.randn(3, 3, 24, 36)
    with torch.no_grad():
        assert np.abs(written.run(images.numpy()) - model(images)["out"].numpy()).max() < 1e-5


def test_onnx_segmenter_refuses_other_sizes_in_one_line(exported):
    from seg_cli.export.onnx_runtime import OnnxSegmenter

    segmenter = OnnxSegmenter(exported[1])
    assert segmenter.metadata["fixed_size"] == [24, 36]
    with pytest.raises(SegError) as info:
        segmenter(np.zeros((1, 3, 30, 30), np.float32))
    assert str(info.value) == "m.onnx takes 24x36 images only (fixed at export), got 30x30: resize them to 24x36 " \
                              "and the logits back"


def test_predict_resizes_to_the_fixed_size_and_the_logits_back(exported):
    from seg_cli.export.onnx_runtime import OnnxModel

    model, path, _ = exported
    photo = torch.randn(1, 3, 37, 45)
    logits = OnnxModel(str(path))(photo)
    resized = F.interpolate(photo, size=(24, 36), mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        expected = F.interpolate(model(resized)["out"], size=(37, 45), mode="bilinear", align_corners=False)
    assert logits.shape == (1, 2, 37, 45)
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
