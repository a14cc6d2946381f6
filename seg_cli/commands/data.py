"""`seg data check|download|show|stats`: look at a dataset before training on it."""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from seg_cli.choices import DATA_ACTIONS
from seg_cli.commands import schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    run_dir,
    to_plain,
)
from seg_cli.commands.validation import require_choice, require_positive
from seg_cli.data.download import DATASET_ROOTS, DOWNLOADS, download_dataset
from seg_cli.errors import ConfigError, DataError, one_line
from seg_cli.paths import config_dir
from seg_cli.tasks import DEFAULT_TASK, get_task
from seg_cli.values import as_list

log = logging.getLogger("seg.data")
schema.register()



@dataclass
class SplitStats:
    """What `seg data check` learnt about one split."""

    split: str
    samples: int = 0
    ok: int = 0
    heights: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    pixels: Any = None  # int64 tensor (256,): pixels per label value
    raw_values: set[int] = field(default_factory=set)  # values stored in the mask files, before any mapping

    def size_range(self) -> str:
        if not self.heights:
            return "-"
        return f"H {min(self.heights)}-{max(self.heights)}, W {min(self.widths)}-{max(self.widths)}"


def check_split(dataset_cfg: dict[str, Any], split: str, problems: list[str]):
    """Read and check every sample of `split` (before transforms); returns (SplitStats, dataset or None).

    Problems (file + message) are appended to `problems`; the histogram counts the readable samples."""
    import torch
    from tqdm import tqdm

    from seg_cli.data.build import build_dataset

    stats = SplitStats(split, pixels=torch.zeros(256, dtype=torch.int64))
    try:
        dataset = build_dataset(dataset_cfg, split, train=False)
    except DataError as exc:
        problems.append(f"[{split}] {one_line(exc)}")
        return stats, None
    stats.samples = len(dataset)
    target = get_task(dataset.task).target
    log.info("checking %d %s samples", len(dataset), split)
    for index in tqdm(range(len(dataset)), desc=split, disable=not sys.stderr.isatty(), leave=False):
        try:
            image, raw = dataset.load_pair(index)
            if target.reads_labels:  # stored label values (a matte's are alpha levels: not listed)
                stats.raw_values.update(int(v) for v in torch.unique(raw))
            # the checks training applies (sizes agree, labels in range, 0/255 masks)
            image, mask = dataset.check_loaded(index, image, raw)
        except DataError as exc:
            name, message = dataset.sample_name(index), one_line(exc)
            problems.append(f"[{split}] {message if name in message else f'{name}: {message}'}")
            continue
        stats.ok += 1
        stats.heights.append(image.shape[-2])
        stats.widths.append(image.shape[-1])
        stats.pixels += target.histogram(mask)
    return stats, dataset


def print_check_report(title: str, stats: list[SplitStats], names: list[str], ignore_index: int,
                       problems: list[str], mapped: bool, task: str = DEFAULT_TASK) -> None:
    print(title)
    print(f"  {'split':<8}{'samples':>9}{'ok':>9}  image sizes")
    for s in stats:
        print(f"  {s.split:<8}{s.samples:>9}{s.ok:>9}  {s.size_range()}")
    total = sum(s.pixels for s in stats)
    all_pixels = max(int(total.sum()), 1)
    print("label pixels (readable samples; labels outside the classes are listed as problems):")
    print(f"  {'label':>5}  {'name':<20}" + "".join(f"{s.split:>14}" for s in stats) + f"{'share':>8}")
    for value in [*range(len(names)), ignore_index]:
        name = names[value] if value < len(names) else "(ignore)"
        note = "  absent" if value < len(names) and total[value] == 0 else ""
        counts = "".join(f"{int(s.pixels[value]):>14,}" for s in stats)
        print(f"  {value:>5}  {name:<20}{counts}{100 * int(total[value]) / all_pixels:>7.2f}%{note}")
    print_stored_values(set().union(*(s.raw_values for s in stats)), len(names), ignore_index, mapped, task)
    print(f"problems ({len(problems)}):" if problems else "no problems found")
    for problem in problems:
        print(f"  {problem}")


def print_stored_values(values: set[int], label_count: int, ignore_index: int, mapped: bool,
                        task: str = DEFAULT_TASK) -> None:
    """The mask values as read (with no label_map / reduce_zero_label set: the values the files store), and,
    unless the dataset maps them already, the convention they look like with the keys to set."""
    from seg_cli.data.labels import suggest_convention

    if not get_task(task).target.reads_labels:  # mattes: alpha levels, not labels
        print("masks read as alpha in [0, 1]; label pixels above: alpha < 0.5 is background, >= 0.5 foreground")
        return
    shown = sorted(values)
    listed = ", ".join(map(str, shown[:40])) + (f", ... ({len(shown)} distinct)" if len(shown) > 40 else "")
    where = "after dataset.label_map / reduce_zero_label" if mapped else "as stored"
    print(f"mask values read ({where}): {listed or '-'}")
    for hint in [] if mapped else suggest_convention(values, label_count, ignore_index, task):
        print(f"  looks like {hint}")


def run_check(cfg: DictConfig, dataset_cfg: dict[str, Any], name: str, title: str) -> int:
    problems: list[str] = []
    results = [check_split(dataset_cfg, split, problems) for split in as_list("splits", to_plain(cfg.splits), str)]
    built = next((ds for _, ds in results if ds is not None), None)
    labels = built.label_count if built else dataset_cfg.get("num_classes", 0)
    names = built.class_names if built else [f"class_{i}" for i in range(labels)]
    print_check_report(title, [s for s, _ in results], names, dataset_cfg.get("ignore_index", 255), problems,
                       mapped=built is not None and built.labels.maps_values,
                       task=built.task if built else dataset_cfg.get("task", DEFAULT_TASK))
    if problems:
        raise DataError(f"{len(problems)} problem(s) found in dataset {name} (listed above)")
    return 0


def write_grid(dataset, n: int, columns: int, cell: int, sample=None):
    """Samples spread evenly over `dataset`, each as [image | coloured mask]; returns (image, indices, failures).

    `sample(index) -> (image, mask)` reads one (default: as training reads it, before any transform)."""
    from PIL import Image

    from seg_cli.data.bands import rgb_view

    n = min(n, len(dataset))
    indices = list(dict.fromkeys(round(i * (len(dataset) - 1) / max(n - 1, 1)) for i in range(n)))
    columns = min(columns, len(indices))
    grid = Image.new("RGB", (columns * 2 * cell, math.ceil(len(indices) / columns) * cell), (40, 40, 40))
    failures = []
    for k, index in enumerate(indices):
        try:
            image, mask = (sample or dataset.checked_pair)(index)  # the mask as training reads it
        except DataError as exc:
            failures.append(one_line(exc))
            continue
        x, y = (k % columns) * 2 * cell, (k // columns) * cell
        paste_fitted(grid, Image.fromarray(rgb_view(image)), x, y, cell, Image.BILINEAR)
        picture = get_task(dataset.task).target_picture(mask, dataset.labels.palette)  # a class map, or alpha
        paste_fitted(grid, picture.convert("RGB"), x + cell, y, cell, Image.NEAREST)
    return grid, indices, failures


def paste_fitted(canvas, tile, x: int, y: int, cell: int, resample) -> None:
    """Paste `tile` scaled to fit a cell x cell square (aspect ratio kept), centred."""
    scale = cell / max(tile.size)
    size = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
    canvas.paste(tile.resize(size, resample), (x + (cell - size[0]) // 2, y + (cell - size[1]) // 2))


def augmented_sample(dataset, seed: int):
    """`sample(index)` for write_grid: the pair as epoch 0 of `seg train seed=SEED` augments it, the image
    back on the 8-bit scale (1 or 3 channels; other band counts stay floats, stretched by rgb_view)."""
    import torch

    from seg_cli.data.samplers import sample_seed

    def sample(index: int):
        image, mask = dataset[(index, sample_seed(seed, 0, index))]
        image = dataset.transforms.normalize.invert(image)
        if image.shape[0] in (1, 3):
            image = image.clamp(0, 1).mul(255).round().to(torch.uint8)
        return image, mask

    return sample


def run_show(cfg: DictConfig, dataset_cfg: dict[str, Any], title: str) -> Path:
    from seg_cli.data.build import build_dataset

    for key in ("n", "columns", "cell_size"):
        require_positive(key, cfg[key])
    augment = to_plain(cfg.augment) if cfg.get("augment") is not None else None
    dataset = build_dataset(dataset_cfg, cfg.split, train=augment is not None, augment=augment)
    sample = augmented_sample(dataset, cfg.seed) if augment is not None else None
    grid, indices, failures = write_grid(dataset, cfg.n, cfg.columns, cfg.cell_size, sample)
    out = Path(cfg.out) if cfg.out else run_dir() / f"samples_{cfg.split}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out)
    how = "image | mask"
    if augment is not None:
        how += f", augmented by augment={HydraConfig.get().runtime.choices.get('augment')} seed={cfg.seed}"
    print(f"seg data show: wrote {len(indices)} {cfg.split} sample(s) of {title} to {out} (each: {how})")
    print("colours: " + colour_legend(dataset.class_names, dataset.labels.palette))
    for failure in failures:
        print(f"  unreadable: {failure}")
    if failures:
        raise DataError(f"{len(failures)} sample(s) could not be read (listed above); run `seg data check`")
    return out


def colour_legend(class_names: list[str], palette: list | None) -> str:
    """`0 road (128, 64, 128), 1 sidewalk (...)`: each class in the colour write_grid draws it in (the dataset's
    palette, VOC's colour map where it has none)."""
    from seg_cli.data.palette import class_palette

    flat = class_palette(palette)
    return ", ".join(f"{i} {name} {tuple(flat[3 * i:3 * i + 3])}" for i, name in enumerate(class_names))


@dataclass
class ChannelStats:
    """Per-channel pixel statistics merged image by image (Chan et al.'s pairwise update: no cancellation
    from summing squares over millions of pixels)."""

    count: int = 0
    images: int = 0
    mean: Any = 0.0  # float64 tensor (C,) once an image is added
    m2: Any = 0.0  # sum of squared deviations from the mean, per channel

    def add(self, image) -> None:
        """Add one image (C, H, W), uint8 (read as x / 255) or float on the [0, 1] scale."""
        import torch

        pixels = image.flatten(1).to(torch.float64)
        if image.dtype == torch.uint8:
            pixels /= 255
        n, mean = pixels.shape[1], pixels.mean(1)
        m2 = ((pixels - mean[:, None]) ** 2).sum(1)
        delta, total = mean - self.mean, self.count + n
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count, self.images = total, self.images + 1

    def std(self) -> list[float]:
        return [float(v) for v in (self.m2 / self.count).sqrt()]


def run_stats(cfg: DictConfig, dataset_cfg: dict[str, Any], title: str) -> dict[str, list[float]]:
    """Per-channel mean and std of the `split` images as training reads them (before normalisation, on the
    [0, 1] scale of their bit depth), printed as the dataset.mean / dataset.std keys to paste."""
    from tqdm import tqdm

    from seg_cli.data.build import build_dataset

    # The normalisation being measured must not stop the measurement (e.g. 3 means for 4 bands).
    dataset = build_dataset({**dataset_cfg, "mean": None, "std": None}, cfg.split, train=False)
    stats, failures = ChannelStats(), []
    for index in tqdm(range(len(dataset)), desc=cfg.split, disable=not sys.stderr.isatty(), leave=False):
        try:
            stats.add(dataset.checked_pair(index)[0])
        except DataError as exc:
            failures.append(one_line(exc))
    if not stats.images:
        raise DataError(f"no readable image in the {cfg.split} split ({len(failures)} unreadable); "
                        "run `seg data check`")
    mean, std = [round(float(v), 4) for v in stats.mean], [round(v, 4) for v in stats.std()]
    print(f"seg data stats: {title}, {cfg.split} split: {stats.images} image(s), "
          f"{stats.count:,} pixels per channel")
    print(f"  {'channel':>7}  {'mean':>7}  {'std':>7}   (on the [0, 1] scale, before normalisation)")
    for channel, (m, s) in enumerate(zip(mean, std, strict=True)):
        print(f"  {channel:>7}  {m:>7.4f}  {s:>7.4f}")
    mean_list, std_list = ("[" + ",".join(f"{v:g}" for v in values) + "]" for values in (mean, std))
    print(f"command line: dataset.in_channels={len(mean)} dataset.mean={mean_list} dataset.std={std_list}")
    print(f"dataset YAML:\n  in_channels: {len(mean)}\n  mean: {mean_list}\n  std: {std_list}")
    for failure in failures:
        print(f"  unreadable (left out): {failure}")
    return {"mean": mean, "std": std}


def dataset_config(cfg: DictConfig, action: str, name: str) -> dict[str, Any]:
    try:
        return OmegaConf.to_container(cfg.dataset, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        key = exc.full_key if str(exc.full_key).startswith("dataset.") else f"dataset.{exc.full_key}"
        raise ConfigError(f"{key} is required: seg data {action} dataset={name} {key}=...") from None


@hydra.main(version_base=None, config_path=config_dir(), config_name="data")
@reports_errors
def main(cfg: DictConfig) -> Any:
    absolutize_paths(cfg)
    if cfg.action is None:
        raise ConfigError("say what to do: seg data check|show|stats dataset=NAME, "
                          "or seg data download NAME (one of: " + ", ".join(DOWNLOADS) + ")")
    require_choice("action", cfg.action, DATA_ACTIONS)
    if cfg.action == "download":
        require_choice("name", cfg.name, tuple(DOWNLOADS))
        require_positive("timeout", cfg.timeout)
        root = Path(cfg.root).resolve()
        fetched = download_dataset(cfg.name, root, cfg.mirror, cfg.timeout)
        print(f"seg data download: {cfg.name} is in {root}" + ("" if fetched else " (already there)"))
        if (Path(config_dir()) / "dataset" / f"{cfg.name}.yaml").is_file():
            print(f"next: seg data check dataset={cfg.name} dataset.root={root / DATASET_ROOTS.get(cfg.name, '')}")
        return root
    if cfg.name is not None:
        raise ConfigError(f"seg data {cfg.action} takes dataset=NAME, not the word '{cfg.name}'")
    name = HydraConfig.get().runtime.choices.get("dataset", "?")
    dataset_cfg = dataset_config(cfg, cfg.action, name)
    root = dataset_cfg.get("root")
    title = f"dataset {name} ({dataset_cfg['_target_']}{f', root {root}' if root else ''})"
    if cfg.action == "check":
        return run_check(cfg, dataset_cfg, name, title)
    if cfg.action == "stats":
        return run_stats(cfg, dataset_cfg, title)
    return run_show(cfg, dataset_cfg, title)
