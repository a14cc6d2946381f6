from types import SimpleNamespace

import torch

from seg_cli.data import cache as cache_module
from seg_cli.data.cache import SampleCache, make_cache
from seg_cli.data.synthetic import SyntheticShapes
from seg_cli.data.transforms import SegmentationPresetTrain


class CountingShapes(SyntheticShapes):
    """The synthetic set, counting how often each sample is generated (read and decoded)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("train", train_size=6, min_side=40, max_side=56,
                         transforms=SegmentationPresetTrain(base_size=48, crop_size=32), **kwargs)
        self.loads: list[int] = []

    def load_pair(self, index: int):
        self.loads.append(index)
        return super().load_pair(index)


def test_cached_samples_are_read_once_and_transform_as_uncached():
    cached, plain = CountingShapes(), CountingShapes()
    cached.cache = make_cache(16)
    for epoch in range(3):
        for index in range(6):
            seed = 100 * epoch + index
            (ci, cm), (pi, pm) = cached[(index, seed)], plain[(index, seed)]
            assert torch.equal(ci, pi) and torch.equal(cm, pm)
    assert sorted(cached.loads) == list(range(6))  # each sample decoded once, in the first epoch
    assert len(plain.loads) == 18
    for index, (image, mask) in cached.cache.pairs.items():  # the transforms left the kept pairs alone
        raw_image, raw_mask = plain.load_pair(index)
        assert torch.equal(image, raw_image) and torch.equal(mask, raw_mask)
        assert image.dtype == torch.uint8


def test_cache_keeps_what_fits_its_budget_and_splits_it_among_workers(monkeypatch):
    pair = (torch.zeros(3, 32, 32, dtype=torch.uint8), torch.zeros(32, 32, dtype=torch.uint8))  # 4 KiB
    cache = SampleCache(max_mib=10 / 1024)  # 10 KiB: two pairs
    for index in range(4):
        cache.put(index, pair)
    assert sorted(cache.pairs) == [0, 1] and cache.size == 8192
    assert cache.get(1) is pair and cache.get(3) is None

    monkeypatch.setattr(cache_module, "get_worker_info", lambda: SimpleNamespace(num_workers=2))
    in_worker = SampleCache(max_mib=10 / 1024)  # 5 KiB in each of 2 workers: one pair
    for index in range(4):
        in_worker.put(index, pair)
    assert sorted(in_worker.pairs) == [0]


def test_cache_mib_zero_means_no_cache():
    assert make_cache(0) is None and isinstance(make_cache(1), SampleCache)
