"""The augment group (seg_cli.data.augment): steps keep image and mask aligned, default = today's preset."""

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from seg_cli.data.augment import STEPS
from seg_cli.data.build import build_dataset
from seg_cli.data.transform_config import build_train_transform
from seg_cli.data.transforms import IMAGENET_MEAN, IMAGENET_STD, SegmentationPresetTrain
from seg_cli.errors import ConfigError
from seg_cli.paths import config_dir

AUGMENT_DIR = Path(config_dir()) / "augment"
DATASET = {"base_size": 64, "crop_size": 48, "hflip_prob": 0.5, "scale_range": [0.5, 2.0], "ignore_index": 255}
# One entry per registered step, p = 1 and ranges wide enough that each visibly moves or changes the pair.
EVERY_STEP = {
    "resize": {"scale_range": [0.5, 2.0]},
    "random_crop": {"cat_max_ratio": 0.75},
    "center_crop": {},
    "hflip": {"p": 1.0},
    "vflip": {"p": 1.0},
    "rotate": {"p": 1.0, "degrees": [-40, 40]},
    "photometric": {"p": 1.0, "brightness": [0.6, 1.4], "contrast": [0.6, 1.4], "hue": [-0.1, 0.1]},
    "gaussian_blur": {"p": 1.0, "kernel_size": 5, "sigma": [0.5, 1.5]},
    "gaussian_noise": {"p": 1.0, "std": [0.02, 0.05]},
    "grayscale": {"p": 1.0},
}


def augment_yaml(option: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(AUGMENT_DIR / f"{option}.yaml"))


def rectangle_pair(h: int = 60, w: int = 80) -> tuple[torch.Tensor, torch.Tensor]:
    """A bright red off-centre rectangle on grey, and a mask holding 1 exactly there."""
    mask = torch.zeros(h, w, dtype=torch.uint8)
    mask[10:40, 12:50] = 1
    image = torch.full((3, h, w), 50, dtype=torch.uint8)
    image[0][mask == 1] = 220
    return image, mask


def agreement(image: torch.Tensor, mask: torch.Tensor) -> float:
    """Share of labelled pixels whose brightness sides with their label (threshold: halfway between the two
    classes' mean brightness), after undoing the ImageNet normalisation."""
    std, mean = torch.tensor(IMAGENET_STD).view(3, 1, 1), torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    brightness = (image * std + mean).mean(0)
    fg, bg = mask == 1, mask == 0
    assert fg.any() and bg.any(), "the crop lost one of the two regions"
    threshold = (brightness[fg].mean() + brightness[bg].mean()) / 2
    return float(((brightness > threshold) == fg)[fg | bg].float().mean())


def draw(transform, image, mask, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return transform(image, mask)


def test_the_step_table_names_every_registered_step():
    assert set(EVERY_STEP) == set(STEPS)


@pytest.mark.parametrize("name", sorted(EVERY_STEP))
def test_every_step_keeps_the_rectangle_of_image_and_mask_together(name):
    steps = [{"name": "resize", "scale_range": [1.0, 1.0]}] if name in ("random_crop", "center_crop") else []
    transform = build_train_transform(DATASET, {"steps": [*steps, {"name": name, **EVERY_STEP[name]}]})
    image, mask = rectangle_pair()
    for seed in range(8):
        out_image, out_mask = draw(transform, image, mask, seed)
        assert set(out_mask.unique().tolist()) <= {0, 1, 255}  # nearest-neighbour labels, ignore padding
        assert agreement(out_image, out_mask) > 0.97, (name, seed)


def test_the_strong_pipeline_keeps_image_and_mask_aligned():
    transform = build_train_transform({**DATASET, "scale_range": [0.8, 1.25]}, augment_yaml("strong"))
    image, mask = rectangle_pair()
    for seed in range(12):
        out_image, out_mask = draw(transform, image, mask, seed)
        assert out_image.shape == (3, 48, 48) and out_mask.shape == (48, 48)
        if (out_mask == 1).any() and (out_mask == 0).any():
            assert agreement(out_image, out_mask) > 0.95, seed


@pytest.mark.parametrize("dataset", [
    DATASET,
    {**DATASET, "crop_size": [40, 56], "hflip_prob": 0.0},
    {**DATASET, "crop_size": 200},  # padded on every side
    {**DATASET, "resize": "square", "scale_range": [1.0, 1.0], "crop_size": 56},
    {**DATASET, "resize": "square", "scale_range": [0.5, 1.5]},
    {**DATASET, "hflip_prob": 1.0, "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]},
])
def test_default_yaml_reproduces_segmentation_preset_train_exactly(dataset):
    preset = build_train_transform(dataset)
    assert isinstance(preset, SegmentationPresetTrain)
    default = build_train_transform(dataset, augment_yaml("default"))
    image = torch.randint(0, 256, (3, 45, 70), dtype=torch.uint8)
    mask = torch.randint(0, 4, (45, 70), dtype=torch.uint8)
    for seed in range(20):
        expected, got = draw(preset, image, mask, seed), draw(default, image, mask, seed)
        assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1]), seed


def test_the_none_pipeline_is_deterministic_and_sized_for_batches():
    transform = build_train_transform(DATASET, augment_yaml("none"))
    image, mask = rectangle_pair(50, 90)
    first, second = draw(transform, image, mask, 0), draw(transform, image, mask, 1)
    assert first[0].shape == (3, 48, 48) and torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_rotation_fills_the_uncovered_corners_of_the_mask_with_the_ignore_index():
    transform = build_train_transform(DATASET, {"steps": [{"name": "rotate", "p": 1.0, "degrees": [30, 30]}]})
    image, mask = draw(transform, *rectangle_pair(), 0)
    assert mask[0, 0] == 255 and mask[-1, -1] == 255 and set(mask.unique().tolist()) == {0, 1, 255}
    assert torch.allclose(image[:, 0, 0], -torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD))  # image 0


def test_cat_max_ratio_leaves_ignore_pixels_out_of_the_class_shares():
    crop = STEPS["random_crop"](size=10, ignore_index=255, cat_max_ratio=0.75)
    patch = torch.tensor([0] * 60 + [1] * 20 + [255] * 20, dtype=torch.uint8)
    assert not crop.balanced(patch)  # class 0 holds 60 of the 80 labelled pixels: 0.75, not below it
    assert STEPS["random_crop"](size=10, ignore_index=255, cat_max_ratio=0.8).balanced(patch)
    assert not crop.balanced(torch.tensor([0] * 50 + [255] * 50, dtype=torch.uint8))  # one class only


def test_cat_max_ratio_redraws_crops_that_one_class_fills():
    mask = torch.zeros(100, 100, dtype=torch.uint8)
    mask[:40, :40] = 1  # an object in one corner: most 40 x 40 crops are (almost) all background
    image = mask.expand(3, -1, -1).clone()

    def balanced_share(ratio: float) -> float:
        step = STEPS["random_crop"](size=40, ignore_index=255, cat_max_ratio=ratio)
        crops = [draw(step, image, mask, seed)[1] for seed in range(40)]
        return sum(0.25 < float((c == 1).float().mean()) < 0.75 for c in crops) / len(crops)

    assert balanced_share(0.75) > 0.75 > 0.35 > balanced_share(1.0)  # measured: 0.89 and 0.18 over 100 seeds


def test_a_step_runs_with_its_probability_drawn_per_sample():
    transform = build_train_transform(DATASET, {"steps": [{"name": "vflip", "p": 0.3}]})
    image, mask = rectangle_pair()
    flipped = sum(not draw(transform, image, mask, seed)[1][15].any() for seed in range(200))
    assert 40 < flipped < 80  # rows 10-39 hold the rectangle, flipped rows 20-49: row 15 says which


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_noise_keeps_the_image_type_and_range(dtype):
    step = STEPS["gaussian_noise"](std=[0.2, 0.2])
    image = torch.zeros(3, 20, 20, dtype=dtype)
    image[:, :10] = 255 if dtype == torch.uint8 else 1.0
    noisy, _ = draw(step, image, torch.zeros(20, 20, dtype=torch.uint8), 0)
    top = 255 if dtype == torch.uint8 else 1.0
    assert noisy.dtype == dtype and float(noisy.min()) >= 0 and float(noisy.max()) <= top
    assert not torch.equal(noisy, image) and torch.equal(image[:, 10:], torch.zeros_like(image[:, 10:]))


@pytest.mark.parametrize("steps,message", [
    ([{"name": "spin"}], r"augment.steps\[0\].name='spin' is not an augmentation step; choose from: center_crop, "),
    ([{"name": "hflip"}, {"name": "vflip", "p": 1.5}], r"augment.steps\[1\].p=1.5 .* probability in \[0, 1\]"),
    ([{"name": "rotate", "degrees": [10, -10]}], r"augment.steps\[0\].degrees=\[10, -10\] .* low <= high"),
    ([{"name": "gaussian_blur", "sigma": []}], r"augment.steps\[0\].sigma=\[\] .* \[low, high\]"),
    ([{"name": "photometric", "hue": [0, 0.9]}], r"augment.steps\[0\].hue=\[0, 0.9\] .* within \[-0.5, 0.5\]"),
    ([{"name": "gaussian_blur", "kernel_size": 4}], r"augment.steps\[0\].kernel_size=4 .* odd"),
    ([{"name": "random_crop", "cat_max_ratio": 0}], r"augment.steps\[0\].cat_max_ratio=0 .* \(0, 1\]"),
    ([{"name": "hflip", "prob": 0.5}], r"augment.steps\[0\].prob is not a key of step hflip; it takes: p"),
    ([{"name": "resize", "scale_range": [2, 1]}], r"augment.steps\[0\].scale_range=\[2, 1\]"),
    ([{"name": "random_crop", "size": 0}], r"augment.steps\[0\].size=0"),
    (["hflip"], r"augment.steps\[0\]='hflip' .* mapping"),
    ({"name": "hflip"}, r"augment.steps=.* a list of steps"),
])
def test_a_bad_entry_names_its_key_and_what_it_accepts(steps, message):
    with pytest.raises(ConfigError, match=message):
        build_train_transform(DATASET, {"steps": steps})


def test_colour_steps_need_rgb_images():
    with pytest.raises(ConfigError, match=r"augment.steps\[0\].name=grayscale needs RGB .* dataset.in_channels=1"):
        build_train_transform({**DATASET, "in_channels": 1}, {"steps": [{"name": "grayscale"}]})


@pytest.mark.parametrize("option", sorted(p.stem for p in AUGMENT_DIR.glob("*.yaml")))
def test_every_augment_yaml_composes_and_augments_training_samples(option):
    from hydra import compose, initialize_config_dir

    from seg_cli.commands import schema

    schema.register()
    with initialize_config_dir(config_dir=config_dir(), version_base=None):
        cfg = compose("train", overrides=[f"augment={option}", "dataset.train_size=4", "dataset.crop_size=40"])
    plain = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    dataset = build_dataset(plain["dataset"], "train", train=True, augment=plain["augment"])
    for index in range(len(dataset)):
        image, mask = dataset[(index, 1000 + index)]
        assert image.shape == (3, 40, 40) and image.dtype == torch.float32 and mask.shape == (40, 40)


def test_a_config_without_augment_trains_with_the_dataset_preset():
    """Checkpoints saved before the augment group resume with what they trained with."""
    from seg_cli.commands.validation import validate_augment

    old = OmegaConf.create({"dataset": DATASET})
    OmegaConf.set_struct(old, True)
    validate_augment(old)
    assert isinstance(build_train_transform(DATASET, None), SegmentationPresetTrain)
