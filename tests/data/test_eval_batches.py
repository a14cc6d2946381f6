"""Evaluation batches: images of one padded input shape per batch, every image exactly once."""

import pytest
import torch
from PIL import Image
from torch import nn

from seg_cli.data.build import build_dataset, build_eval_loader, padded_input_shape
from seg_cli.data.samplers import ShapeBatchSampler
from seg_cli.engine.loop import evaluate

SYNTHETIC = {"_target_": "seg_cli.data.synthetic.SyntheticShapes", "num_classes": 4, "val_size": 23,
             "min_side": 40, "max_side": 70, "base_size": 48, "crop_size": 40}


def test_batches_group_by_shape_in_shard_order_and_cover_the_shard():
    shapes = ["a", "b", "a", "a", "c", "b", "a", "a"]
    sampler = ShapeBatchSampler(len(shapes), shapes.__getitem__, batch_size=2)
    assert list(sampler) == [[0, 2], [3, 6], [7], [1, 5], [4]]
    assert len(sampler) == 5
    ranks = [list(ShapeBatchSampler(len(shapes), shapes.__getitem__, 3, rank=r, world_size=2)) for r in range(2)]
    assert ranks == [[[0, 2, 6], [4]], [[1, 5], [3, 7]]]  # rank 0 shards 0 2 4 6 (a a c a), rank 1 1 3 5 7 (b a b a)


def test_a_sample_of_unknown_shape_is_a_batch_of_its_own():
    shapes = [(8, 8), None, (8, 8), None]
    assert list(ShapeBatchSampler(4, shapes.__getitem__, batch_size=4)) == [[0, 2], [1], [3]]


def test_predicted_input_shape_is_the_shape_each_loaded_image_gets():
    dataset = build_dataset(SYNTHETIC, "val", train=False)
    for index in range(len(dataset)):
        image, _ = dataset[index]
        height, width = image.shape[-2:]
        assert padded_input_shape(dataset, index, pad_multiple=16) == (-(-height // 16) * 16, -(-width // 16) * 16)
    loader = build_eval_loader(dataset, batch_size=4, workers=0, pad_multiple=16)
    seen = []
    for (images, _, image_sizes, _), indices in zip(loader, loader.batch_sampler, strict=True):
        assert len(images) <= 4
        assert {padded_input_shape(dataset, i, 16) for i in indices} == {tuple(images.shape[-2:])}
        assert image_sizes == [tuple(dataset[i][0].shape[-2:]) for i in indices]  # the samples it names
        seen += indices
    assert sorted(seen) == list(range(len(dataset))) and len(loader) > len(dataset) // 4  # several shapes


def test_folder_dataset_reads_sizes_from_file_headers(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name, (width, height), orientation in (("a", (30, 20), 1), ("b", (24, 40), 1), ("c", (36, 22), 6)):
        image = Image.new("RGB", (width, height), (90, 20, 200))
        exif = image.getexif()
        exif[0x0112] = orientation  # 6: shown rotated by 90 degrees, so load_image returns 36 x 22 as 22 x 36
        image.save(tmp_path / "images" / f"{name}.jpg", exif=exif)
        shown = (height, width) if orientation == 6 else (width, height)
        Image.new("L", shown).save(tmp_path / "masks" / f"{name}.png")
    cfg = {"_target_": "seg_cli.data.folder.FolderSegmentation", "root": str(tmp_path), "num_classes": 1,
           "val_fraction": 0.0, "base_size": 32, "crop_size": 24}
    dataset = build_dataset(cfg, "train", train=False)  # val_fraction 0: every pair in train
    assert len(dataset) == 3
    for index in range(len(dataset)):
        assert dataset.image_size(index) == tuple(dataset.load_pair(index)[0].shape[-2:])
    (tmp_path / "images" / "a.jpg").write_bytes(b"not an image")
    assert [dataset.image_size(i) for i in range(3)].count(None) == 1  # unreadable: no size, no exception


class GlobalContext(nn.Module):
    """Two convolutions with the image-wide feature mean added between them, as pooling branches (ASPP,
    LR-ASPP) do: every output pixel depends on how much padding the input carries."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.first(x)
        return self.second(torch.relu(features + features.mean((2, 3), keepdim=True)))


@pytest.mark.parametrize("pad_multiple", [1, 32])
def test_metrics_do_not_depend_on_the_eval_batch_size(pad_multiple):
    torch.manual_seed(0)
    model = GlobalContext()
    dataset = build_dataset(SYNTHETIC, "val", train=False)
    mats = [evaluate(model, build_eval_loader(dataset, b, 0, pad_multiple=pad_multiple), torch.device("cpu"), 4)
            .confmat.mat for b in (1, 3, 8)]
    assert mats[0].sum() == sum(m.numel() for m in (dataset[i][1] for i in range(len(dataset))))
    assert len(mats[0].diag().nonzero()) > 1  # the model predicts more than one class
    assert torch.equal(mats[0], mats[1]) and torch.equal(mats[0], mats[2])
