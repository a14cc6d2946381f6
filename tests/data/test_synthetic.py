import torch

from seg_cli.data.synthetic import SyntheticShapes


def test_samples_are_deterministic_and_sizes_vary():
    a, b = SyntheticShapes("train", seed=3), SyntheticShapes("train", seed=3)
    for i in range(5):
        (ia, ma), (ib, mb) = a[i], b[i]
        assert torch.equal(ia, ib) and torch.equal(ma, mb)
    sizes = {tuple(a[i][1].shape) for i in range(10)}
    assert len(sizes) > 5
    assert all(96 <= s <= 160 for hw in sizes for s in hw)


def test_splits_differ_and_labels_cover_the_shape_classes():
    train, val = SyntheticShapes("train"), SyntheticShapes("val")
    assert len(train) == 480 and len(val) == 64
    assert not torch.equal(train[0][0], val[0][0]) if train[0][0].shape == val[0][0].shape else True
    labels = set()
    for i in range(30):
        labels |= set(train[i][1].unique().tolist())
    assert labels == {0, 1, 2, 3}
