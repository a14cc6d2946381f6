import torch
from torch.utils.data import DataLoader, Dataset

from seg_cli.data.build import collate_padded
from seg_cli.data.replay import ReplayLoader, batch_bytes


class Counting(Dataset):
    """Four 2x3 images; counts how often items are read."""

    def __init__(self) -> None:
        self.reads = 0

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int):
        self.reads += 1
        return torch.full((3, 2, 3), float(index)), torch.full((2, 3), index, dtype=torch.uint8)


def passes(loader, n: int) -> list[list[float]]:
    return [[float(images[0, 0, 0, 0]) for images, *_ in loader] for _ in range(n)]


def test_replay_reads_the_set_once_and_yields_the_same_batches():
    data = Counting()
    loader = ReplayLoader(DataLoader(data, batch_size=1, collate_fn=collate_padded), max_mib=1)
    assert passes(loader, 3) == [[0.0, 1.0, 2.0, 3.0]] * 3
    assert data.reads == 4 and len(loader) == 4 and loader.dataset is data


def test_set_over_the_limit_is_streamed_every_pass():
    data = Counting()
    one_batch = batch_bytes(collate_padded([data[0]]))
    data.reads = 0
    loader = ReplayLoader(DataLoader(data, batch_size=1, collate_fn=collate_padded), max_mib=2.5 * one_batch / 2**20)
    assert passes(loader, 2) == [[0.0, 1.0, 2.0, 3.0]] * 2
    assert data.reads == 8 and loader.batches is None
    off = Counting()
    assert passes(ReplayLoader(DataLoader(off, batch_size=1, collate_fn=collate_padded), max_mib=0), 2)[1] == [0, 1, 2, 3]
    assert off.reads == 8


def test_interrupted_first_pass_is_not_replayed():
    data = Counting()
    loader = ReplayLoader(DataLoader(data, batch_size=1, collate_fn=collate_padded), max_mib=1)
    next(iter(loader))
    assert loader.batches is None
    assert passes(loader, 1) == [[0.0, 1.0, 2.0, 3.0]]


def test_collate_pads_images_to_the_multiple_and_keeps_sizes():
    batch = [(torch.ones(3, 5, 7), torch.ones(5, 7, dtype=torch.uint8)),
             (torch.ones(3, 9, 4), torch.ones(9, 4, dtype=torch.uint8))]
    images, masks, image_sizes, mask_sizes = collate_padded(batch, ignore_index=255, pad_multiple=8)
    assert images.shape == (2, 3, 16, 8) and masks.shape == (2, 9, 7)
    assert image_sizes == [(5, 7), (9, 4)] and mask_sizes == [(5, 7), (9, 4)]
    assert images[0, :, :5, :7].eq(1).all() and images[0, :, 5:].eq(0).all() and images[1, :, :, 4:].eq(0).all()
    assert masks[1, :, 4:].eq(255).all() and masks[0, 5:].eq(255).all()
