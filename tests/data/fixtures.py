"""Tiny datasets written in the exact on-disk layouts of DUTS, HK, a custom folder and VOC + SBD.

Every sample is a noisy image with a bright rectangle whose mask marks the rectangle, so a model can learn
the sets and tests can check labels. Reusable by end-to-end CLI tests. `dataset_config` / `untransformed`
build a dataset from its configs/dataset YAML, as `dataset=NAME` does (DUTS and HK exist only as YAML).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from seg_cli.paths import config_dir
from tests.helpers import write_voc


def dataset_config(option: str, **values: object) -> dict:
    """configs/dataset/<option>.yaml as the plain dict a run resolves it to, with `values` set."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(Path(config_dir()) / "dataset" / f"{option}.yaml"))
    return {**cfg, **values}


def untransformed(option: str, root: str | Path, split: str, **values: object):
    """The `split` of `dataset=<option> dataset.root=<root>` as the dataset class reads it (no transforms)."""
    from seg_cli.data.build import build_dataset

    dataset = build_dataset(dataset_config(option, root=str(root), **values), split, train=False)
    dataset.transforms = None
    return dataset


def _sample(index: int, size: tuple[int, int], soft: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image and a 0..255 grey mask of a rectangle that moves with `index` (soft: a blurred edge)."""
    h, w = size
    rng = np.random.default_rng(index)
    mask = np.zeros((h, w), np.uint8)
    top, left = 2 + index % 5, 3 + index % 7
    mask[top : top + h // 2, left : left + w // 2] = 255
    if soft:  # matte-like: a ramp of intermediate values along the right edge
        mask[top : top + h // 2, left + w // 2] = 200
        mask[top : top + h // 2, left + w // 2 + 1] = 100
    image = rng.integers(0, 120, (h, w, 3), dtype=np.uint8)
    image[mask > 127] = (230, 220, 40)
    return image, mask


def write_duts(root: Path, n_train: int = 4, n_val: int = 3, size: tuple[int, int] = (36, 44)) -> Path:
    """<root>/DUTS-TR/{DUTS-TR-Image/*.jpg, DUTS-TR-Mask/*.png} and DUTS-TE likewise; returns root."""
    for split, count in (("TR", n_train), ("TE", n_val)):
        base = root / f"DUTS-{split}"
        (base / f"DUTS-{split}-Image").mkdir(parents=True, exist_ok=True)
        (base / f"DUTS-{split}-Mask").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"ILSVRC2012_test_{i:08d}" if split == "TE" else f"n0{i:07d}_{i}"
            image, mask = _sample(i, size, soft=True)
            Image.fromarray(image).save(base / f"DUTS-{split}-Image" / f"{name}.jpg", quality=95)
            Image.fromarray(mask).save(base / f"DUTS-{split}-Mask" / f"{name}.png")
    return root


def write_hk(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (40, 30)) -> Path:
    """<root>/training/{NNNNN.png, NNNNN_matte.png} and <root>/testing/ likewise; returns root."""
    for split, count, first in (("training", n_train, 1), ("testing", n_val, 1 + n_train)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(first, first + count):
            image, matte = _sample(i, size, soft=True)
            Image.fromarray(image).save(root / split / f"{i:05d}.png")
            Image.fromarray(matte).save(root / split / f"{i:05d}_matte.png")
    return root


def write_folder(
    root: Path, n: int = 10, size: tuple[int, int] = (32, 40), mask_suffix: str = "", values: str = "0/255",
    lists: bool = False,
) -> Path:
    """<root>/images/<id>.jpg with <root>/masks/<id><mask_suffix>.png; returns root.

    values: "0/255" (binary masks as image editors save them), "0/1" (labels, with a 255 ignore border)
    or "multiclass" (labels 0..2). lists: also write train.txt / val.txt (the last two ids are val).
    """
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    ids = [f"img_{i:03d}" for i in range(n)]
    for i, name in enumerate(ids):
        image, grey = _sample(i, size)
        mask = {"0/255": grey, "0/1": (grey > 127).astype(np.uint8), "multiclass": (grey > 127) * (1 + i % 2)}[values]
        mask = mask.astype(np.uint8)
        if values == "0/1":
            mask[0, :] = 255  # an ignored border row
        Image.fromarray(image).save(root / "images" / f"{name}.jpg", quality=95)
        Image.fromarray(mask).save(root / "masks" / f"{name}{mask_suffix}.png")
    if lists:
        (root / "train.txt").write_text("\n".join(ids[:-2]) + "\n")
        (root / "val.txt").write_text("\n".join(ids[-2:]) + "\n")
    return root


def write_voc_aug(root: Path, n_train: int = 4, n_val: int = 3, n_sbd: int = 3) -> Path:
    """A write_voc() tree plus SBD's extra images with SegmentationClassAug label PNGs and train_aug.txt.

    train_aug.txt lists the VOC train ids (their Aug masks too) and `n_sbd` SBD-only ids; returns VOCdevkit.
    """
    devkit = write_voc(root, n_train=n_train, n_val=n_val)
    voc = devkit / "VOC2012"
    aug = voc / "SegmentationClassAug"
    aug.mkdir(exist_ok=True)
    train_ids = (voc / "ImageSets/Segmentation/train.txt").read_text().split()
    for name in train_ids:  # the converted set holds grey label PNGs, also for VOC's own train images
        mask = np.asarray(Image.open(voc / "SegmentationClass" / f"{name}.png"))
        Image.fromarray(mask.astype(np.uint8)).save(aug / f"{name}.png")
    sbd_ids = [f"2008_{i:06d}" for i in range(n_sbd)]
    for i, name in enumerate(sbd_ids):
        image, grey = _sample(i, (40, 52))
        label = (grey > 127).astype(np.uint8) * (15 + i)  # e.g. person, pottedplant, sheep
        Image.fromarray(image).save(voc / "JPEGImages" / f"{name}.jpg", quality=95)
        Image.fromarray(label).save(aug / f"{name}.png")
    (voc / "ImageSets/Segmentation/train_aug.txt").write_text("\n".join(train_ids + sbd_ids) + "\n")
    return devkit


def _stored_sample(index: int, size: tuple[int, int], values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image and a mask of stored values: background values[0], a block values[1 + index % (n-1)]
    and a stripe of values[-1]; the image's colour follows the block, so a model can learn it."""
    h, w = size
    rng = np.random.default_rng(index)
    mask = np.full((h, w), values[0], np.uint8)
    block = values[1 + index % (len(values) - 2)]
    mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = block
    mask[:, :2] = values[-1]
    image = rng.integers(0, 90, (h, w, 3), dtype=np.uint8)
    image[mask == block] = (40 + 20 * (block % 8), 200, 30)
    return image, mask


def write_cityscapes(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (32, 64)) -> Path:
    """leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png with gtFine/... _gtFine_labelIds.png
    (and the _color / _instanceIds files the release also has, which must be left alone); returns root.
    Stored labelIds: 7 (road), 26 (car), 24 (person), 0 (unlabelled)."""
    for split, count, city in (("train", n_train, "aachen"), ("val", n_val, "frankfurt")):
        images, labels = root / "leftImg8bit" / split / city, root / "gtFine" / split / city
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            stem = f"{city}_{i:06d}_000019"
            image, mask = _stored_sample(i, size, [7, 26, 24, 0])
            Image.fromarray(image).save(images / f"{stem}_leftImg8bit.png")
            Image.fromarray(mask).save(labels / f"{stem}_gtFine_labelIds.png")
            Image.fromarray(image).save(labels / f"{stem}_gtFine_color.png")
            Image.fromarray(mask.astype(np.uint16) * 1000).save(labels / f"{stem}_gtFine_instanceIds.png")
    return root


def write_ade20k(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (40, 48)) -> Path:
    """ADEChallengeData2016/{images,annotations}/{training,validation}: stored 0 ("other"), 1, 3, 150;
    returns the ADEChallengeData2016 folder."""
    ade = root / "ADEChallengeData2016"
    for split, count in (("training", n_train), ("validation", n_val)):
        (ade / "images" / split).mkdir(parents=True, exist_ok=True)
        (ade / "annotations" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"ADE_{'train' if split == 'training' else 'val'}_{i + 1:08d}"
            image, mask = _stored_sample(i, size, [1, 3, 150, 0])
            Image.fromarray(image).save(ade / "images" / split / f"{name}.jpg", quality=95)
            Image.fromarray(mask).save(ade / "annotations" / split / f"{name}.png")
    return ade


def write_coco_stuff(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (40, 48)) -> Path:
    """images/{train2017,val2017}/*.jpg with stuffthingmaps_trainval2017/{train2017,val2017}/*.png holding
    category id - 1: 0 (person), 12 (stop sign), 156 (sky-other), 255 (unlabelled); returns root."""
    for split, count in (("train2017", n_train), ("val2017", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "stuffthingmaps_trainval2017" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"{i + 1:012d}"
            image, mask = _stored_sample(i, size, [156, 0, 12, 255])
            Image.fromarray(image).save(root / "images" / split / f"{name}.jpg", quality=95)
            Image.fromarray(mask).save(root / "stuffthingmaps_trainval2017" / split / f"{name}.png")
    return root


def write_camvid(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (36, 48)) -> Path:
    """SegNet's CamVid: {train,val,test}/*.png with {train,val,test}annot/*.png (0..10, 11 = void); returns root."""
    for split, count in (("train", n_train), ("val", n_val), ("test", n_val)):
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"0001TP_{i:06d}"
            image, mask = _stored_sample(i, size, [3, 8, 9, 11])
            Image.fromarray(image).save(root / split / f"{name}.png")
            Image.fromarray(mask).save(root / f"{split}annot" / f"{name}.png")
    return root


def write_drive(root: Path, n_train: int = 4, n_val: int = 2, size: tuple[int, int] = (36, 40)) -> Path:
    """DRIVE/{training,test}/{images/NN_<split>.tif, 1st_manual/NN_manual1.gif, mask/NN_<split>_mask.gif}:
    vessels 0/255, a field of view that leaves out the first 4 columns; returns DRIVE."""
    drive = root / "DRIVE"
    for split, count, first in (("training", n_train, 21), ("test", n_val, 1)):
        for sub in ("images", "1st_manual", "mask"):
            (drive / split / sub).mkdir(parents=True, exist_ok=True)
        for i in range(first, first + count):
            image, grey = _sample(i, size)
            view = np.full(size, 255, np.uint8)
            view[:, :4] = 0
            Image.fromarray(image).save(drive / split / "images" / f"{i:02d}_{split}.tif")
            Image.fromarray(grey).save(drive / split / "1st_manual" / f"{i:02d}_manual1.gif")
            Image.fromarray(view).save(drive / split / "mask" / f"{i:02d}_{split}_mask.gif")
    return drive


def write_sbd_release(root: Path, n_train: int = 4, n_val: int = 3, n_sbd: int = 3) -> Path:
    """A write_voc() tree beside SBD's own release, benchmark_RELEASE/dataset/{img, cls/*.mat, train.txt,
    val.txt}, with .mat files as SBD writes them (GTcls.Segmentation); one VOC val id is in SBD too (it must
    stay out of train); returns root."""
    from scipy.io import savemat

    devkit = write_voc(root, n_train=n_train, n_val=n_val)
    voc = devkit / "VOC2012"
    sbd = root / "benchmark_RELEASE" / "dataset"
    (sbd / "cls").mkdir(parents=True)
    (sbd / "img").mkdir()
    val_ids = (voc / "ImageSets/Segmentation/val.txt").read_text().split()
    sbd_ids = [f"2008_{i:06d}" for i in range(n_sbd)]
    for i, name in enumerate(sbd_ids):
        image, grey = _sample(i, (40, 52))
        label = (grey > 127).astype(np.uint8) * (15 + i)
        Image.fromarray(image).save(voc / "JPEGImages" / f"{name}.jpg", quality=95)
        Image.fromarray(image).save(sbd / "img" / f"{name}.jpg", quality=95)
        gt = np.zeros((1,), dtype=[("Segmentation", object), ("Boundaries", object), ("CategoriesPresent", object)])
        gt[0] = (label, np.zeros((1, 1), object), np.unique(label[label > 0]).astype(np.uint8))
        savemat(sbd / "cls" / f"{name}.mat", {"GTcls": gt})
    (sbd / "train.txt").write_text("\n".join(sbd_ids[:-1]) + "\n")
    (sbd / "val.txt").write_text("\n".join([sbd_ids[-1], val_ids[0]]) + "\n")
    return root
