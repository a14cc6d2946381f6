"""Samples/s of seg's training data path alone, per core, at real sizes (issue #15).

    python scripts/bench_data.py --images 12 --repeats 3

Writes Cityscapes-sized frames (2048x1024 PNG, labelIds mapped to train ids by the dataset's label_map)
and VOC-sized photos (500x375 JPEG, palette masks) in their official layouts, builds each dataset from
its own configs/dataset YAML exactly as `seg train` does (seg_cli.data.build.build_dataset with the train
transform: random scale, crop with ignore padding, flip, normalise), and times `dataset[(index, seed)]`
in one thread: "cold" decodes every file (a first epoch, or data.cache_mib=0), "cached" reads the decoded
pair from the RAM cache (later epochs). Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def frame(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A street-like RGB frame (smooth gradients, blocks, mild noise: PNG-compressible as real frames are)
    and its label mask of Cityscapes labelIds (road, car, building, sky, void)."""
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack([(xs * 255 // width), (ys * 255 // height), ((xs + ys) * 127 // (width + height))], -1)
    labels = np.full((height, width), 7, np.uint8)  # road
    labels[: height // 3] = 23  # sky
    labels[height // 3 : height // 2] = 11  # building
    for _ in range(6):
        top, left = rng.integers(height // 2, height - 64), rng.integers(0, width - 128)
        labels[top : top + 64, left : left + 128] = 26  # car
        image[top : top + 64, left : left + 128] = rng.integers(0, 255, 3)
    labels[-8:] = 0  # unlabelled ego vehicle
    image = (image + rng.integers(0, 8, image.shape)).clip(0, 255).astype(np.uint8)
    return image, labels


def write_cityscapes(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    images, labels = root / "leftImg8bit" / "train" / "aachen", root / "gtFine" / "train" / "aachen"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for i in range(count):
        image, mask = frame(rng, 1024, 2048)
        Image.fromarray(image).save(images / f"aachen_{i:06d}_000019_leftImg8bit.png")
        Image.fromarray(mask).save(labels / f"aachen_{i:06d}_000019_gtFine_labelIds.png")


def write_voc(root: Path, count: int) -> None:
    from seg_cli.data.palette import palette_image

    rng = np.random.default_rng(1)
    voc = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True)
    ids = [f"2007_{i:06d}" for i in range(count)]
    for name in ids:
        image, labels = frame(rng, 375, 500)
        Image.fromarray(image).save(voc / "JPEGImages" / f"{name}.jpg", quality=90)
        palette_image(np.where(labels == 26, 7, 0).astype(np.uint8)).save(voc / "SegmentationClass" / f"{name}.png")
    for split in ("train", "val"):
        (voc / "ImageSets/Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")


def dataset_config(option: str, root: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from seg_cli.paths import config_dir

    cfg = OmegaConf.to_container(OmegaConf.load(Path(config_dir()) / "dataset" / f"{option}.yaml"))
    return {**cfg, "root": str(root)}


def samples_per_second(dataset, repeats: int) -> float:
    """Best of `repeats` passes over `dataset`, each sample with a fresh seed (new augmentation)."""
    best = 0.0
    for r in range(repeats):
        tick = time.perf_counter()
        for i in range(len(dataset)):
            dataset[(i, 1000 * r + i)]
        best = max(best, len(dataset) / (time.perf_counter() - tick))
    return best


def measure(option: str, root: Path, repeats: int) -> dict[str, float]:
    from seg_cli.data.build import build_dataset
    from seg_cli.data.cache import make_cache

    dataset = build_dataset(dataset_config(option, root), "train", train=True)
    cold = samples_per_second(dataset, repeats)
    dataset.cache = make_cache(4096)
    for i in range(len(dataset)):  # fill the cache, as a run's first epoch does
        dataset[(i, i)]
    return {f"{option}_cold": cold, f"{option}_cached": samples_per_second(dataset, repeats)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=12, help="files per dataset")
    parser.add_argument("--repeats", type=int, default=3, help="passes; the best is kept")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # per core
    results: dict[str, Any] = {"threads": 1, "images": args.images}
    with tempfile.TemporaryDirectory(prefix="seg-bench-data-") as tmp:
        write_cityscapes(Path(tmp) / "cityscapes", args.images)
        write_voc(Path(tmp) / "voc", args.images)
        results.update(measure("cityscapes", Path(tmp) / "cityscapes", args.repeats))
        results.update(measure("voc", Path(tmp) / "voc", args.repeats))
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3g}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
