import torch

from seg_cli.data.synthetic import SyntheticShapes


def test_binary_flag_makes_every_shape_foreground_with_the_same_images():
    multi = SyntheticShapes("train", seed=1)
    binary = SyntheticShapes("train", num_classes=1, seed=1, task="binary")
    assert binary.label_count == 2 and binary.num_classes == 1
    for i in range(10):
        (image_m, mask_m), (image_b, mask_b) = multi[i], binary[i]
        assert torch.equal(image_m, image_b)
        assert torch.equal(mask_b, (mask_m > 0).to(torch.uint8))
        assert set(mask_b.unique().tolist()) <= {0, 1}


def test_multiclass_output_is_unchanged():
    # Pinned from the multi-class generator (noise-bank version): the binary flag must not move its random draws.
    _, mask = SyntheticShapes("val", seed=0)[2]
    assert tuple(mask.shape) == (132, 153)
    assert torch.bincount(mask.flatten().long(), minlength=4).tolist() == [16578, 2276, 1342, 0]
