"""`seg data check|download|show`: look at a dataset before training on it."""

from __future__ import annotations

import logging
import math
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from seg_cli.commands import tools_schema
from seg_cli.commands.common import (
    absolutize_paths,
    reports_errors,
    require_choice,
    require_positive,
    run_dir,
    to_plain,
)
from seg_cli.errors import ConfigError, DataError, one_line
from seg_cli.paths import config_dir
from seg_cli.values import as_list

log = logging.getLogger("seg.data")
tools_schema.register()

ACTIONS = ("check", "download", "show")


@dataclass(frozen=True)
class Archive:
    """One file to fetch: its URL, MD5 (None where none is published) and where it is unpacked."""

    url: str
    md5: str | None
    into: str      # folder under root the archive is extracted into
    provides: str  # path under root that exists once it is unpacked (then it is not fetched again)

    @property
    def filename(self) -> str:
        return Path(urlparse(self.url).path).name


VOC2012 = Archive("https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
                  "6cd6e144f989b92b3379bac3b3de84fd", ".", "VOCdevkit/VOC2012/JPEGImages")
DOWNLOADS: dict[str, tuple[Archive, ...]] = {
    "voc": (VOC2012,),
    # SBD's extra masks as VOC palette PNGs (DeepLab's SegmentationClassAug), unpacked inside VOC2012.
    "voc_aug": (VOC2012, Archive("https://www.dropbox.com/s/oeu149j8qtbs1x0/SegmentationClassAug.zip?dl=1", None,
                                 "VOCdevkit/VOC2012", "VOCdevkit/VOC2012/SegmentationClassAug")),
    "duts": (Archive("http://saliencydetection.net/duts/download/DUTS-TR.zip", None, ".", "DUTS-TR"),
             Archive("http://saliencydetection.net/duts/download/DUTS-TE.zip", None, ".", "DUTS-TE")),
}


def source_url(archive: Archive, mirror: str | None) -> str:
    return f"{mirror.rstrip('/')}/{archive.filename}" if mirror else archive.url


def download_dataset(name: str, root: Path, mirror: str | None, timeout: float) -> list[Archive]:
    """Fetch, verify (where an MD5 is known) and unpack what is not there yet; returns what was fetched."""
    from torchvision.datasets.utils import download_and_extract_archive

    pending = [a for a in DOWNLOADS[name] if not (root / a.provides).exists()]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # torchvision's urlopen takes no timeout: a silent host must not hang us
    try:
        for archive in pending:
            url = source_url(archive, mirror)
            log.info("fetching %s into %s", url, root / archive.into)
            try:
                download_and_extract_archive(url, str(root), extract_root=str(root / archive.into),
                                             filename=archive.filename, md5=archive.md5, remove_finished=True)
            except BaseException as exc:  # network errors come in many types; all mean the same to the user
                if archive.md5 is None:  # unverifiable: a partial file would pass for a whole one next time
                    (root / archive.filename).unlink(missing_ok=True)
                if not isinstance(exc, Exception):
                    raise
                reason = one_line(getattr(exc, "reason", exc))  # URLError wraps the socket error
                steps = "; ".join(f"{a.url}{f' (md5 {a.md5})' if a.md5 else ''} -> unpack into {root / a.into}"
                                  for a in pending)
                raise DataError(f"downloading {name} from {url} failed ({reason}); fetch by hand: {steps}") from None
    finally:
        socket.setdefaulttimeout(previous)
    if name == "voc_aug":
        write_trainaug_list(root / "VOCdevkit" / "VOC2012")
    return pending


def write_trainaug_list(voc_dir: Path) -> Path:
    """ImageSets/Segmentation/train_aug.txt: every SegmentationClassAug mask not in VOC's val list
    (the usual 10,582-image train_aug set)."""
    sets = voc_dir / "ImageSets" / "Segmentation"
    val = set((sets / "val.txt").read_text().split()) if (sets / "val.txt").is_file() else set()
    ids = sorted(p.stem for p in (voc_dir / "SegmentationClassAug").glob("*.png") if p.stem not in val)
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "train_aug.txt").write_text("".join(f"{i}\n" for i in ids))
    return sets / "train_aug.txt"


@dataclass
class SplitStats:
    """What `seg data check` learnt about one split."""

    split: str
    samples: int = 0
    ok: int = 0
    heights: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    pixels: Any = None  # int64 tensor (256,): pixels per label value

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
    log.info("checking %d %s samples", len(dataset), split)
    for index in tqdm(range(len(dataset)), desc=split, disable=not sys.stderr.isatty(), leave=False):
        try:
            # load_pair plus the checks training applies (sizes agree, labels in range, 0/255 binary masks)
            image, mask = dataset.checked_pair(index)
        except DataError as exc:
            name, message = dataset.sample_name(index), one_line(exc)
            problems.append(f"[{split}] {message if name in message else f'{name}: {message}'}")
            continue
        stats.ok += 1
        stats.heights.append(image.shape[-2])
        stats.widths.append(image.shape[-1])
        stats.pixels += torch.bincount(mask.flatten().long(), minlength=256)
    return stats, dataset


def print_check_report(title: str, stats: list[SplitStats], names: list[str], ignore_index: int,
                       problems: list[str]) -> None:
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
    print(f"problems ({len(problems)}):" if problems else "no problems found")
    for problem in problems:
        print(f"  {problem}")


def run_check(cfg: DictConfig, dataset_cfg: dict[str, Any], name: str, title: str) -> int:
    problems: list[str] = []
    results = [check_split(dataset_cfg, split, problems) for split in as_list("splits", to_plain(cfg.splits), str)]
    built = next((ds for _, ds in results if ds is not None), None)
    labels = built.label_count if built else dataset_cfg.get("num_classes", 0)
    names = built.class_names if built else [f"class_{i}" for i in range(labels)]
    print_check_report(title, [s for s, _ in results], names, dataset_cfg.get("ignore_index", 255), problems)
    if problems:
        raise DataError(f"{len(problems)} problem(s) found in dataset {name} (listed above)")
    return 0


def write_grid(dataset, n: int, columns: int, cell: int):
    """Samples spread evenly over `dataset`, each as [image | coloured mask]; returns (image, indices, failures)."""
    from PIL import Image

    from seg_cli.data.palette import palette_image

    n = min(n, len(dataset))
    indices = list(dict.fromkeys(round(i * (len(dataset) - 1) / max(n - 1, 1)) for i in range(n)))
    columns = min(columns, len(indices))
    grid = Image.new("RGB", (columns * 2 * cell, math.ceil(len(indices) / columns) * cell), (40, 40, 40))
    failures = []
    for k, index in enumerate(indices):
        try:
            image, mask = dataset.checked_pair(index)  # the mask as training reads it
        except DataError as exc:
            failures.append(one_line(exc))
            continue
        x, y = (k % columns) * 2 * cell, (k // columns) * cell
        paste_fitted(grid, Image.fromarray(image.permute(1, 2, 0).numpy()), x, y, cell, Image.BILINEAR)
        paste_fitted(grid, palette_image(mask.numpy()).convert("RGB"), x + cell, y, cell, Image.NEAREST)
    return grid, indices, failures


def paste_fitted(canvas, tile, x: int, y: int, cell: int, resample) -> None:
    """Paste `tile` scaled to fit a cell x cell square (aspect ratio kept), centred."""
    scale = cell / max(tile.size)
    size = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
    canvas.paste(tile.resize(size, resample), (x + (cell - size[0]) // 2, y + (cell - size[1]) // 2))


def run_show(cfg: DictConfig, dataset_cfg: dict[str, Any], title: str) -> Path:
    from seg_cli.data.build import build_dataset
    from seg_cli.data.palette import voc_palette

    for key in ("n", "columns", "cell_size"):
        require_positive(key, cfg[key])
    dataset = build_dataset(dataset_cfg, cfg.split, train=False)
    grid, indices, failures = write_grid(dataset, cfg.n, cfg.columns, cfg.cell_size)
    out = Path(cfg.out) if cfg.out else run_dir() / f"samples_{cfg.split}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out)
    palette = voc_palette()
    print(f"seg data show: wrote {len(indices)} {cfg.split} sample(s) of {title} to {out} (each: image | mask)")
    print("colours: " + ", ".join(f"{i} {name} {tuple(palette[3 * i:3 * i + 3])}"
                                  for i, name in enumerate(dataset.class_names)))
    for failure in failures:
        print(f"  unreadable: {failure}")
    if failures:
        raise DataError(f"{len(failures)} sample(s) could not be read (listed above); run `seg data check`")
    return out


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
        raise ConfigError("say what to do: seg data check|show dataset=NAME, or seg data download voc|voc_aug|duts")
    require_choice("action", cfg.action, ACTIONS)
    if cfg.action == "download":
        require_choice("name", cfg.name, tuple(DOWNLOADS))
        require_positive("timeout", cfg.timeout)
        root = Path(cfg.root).resolve()
        fetched = download_dataset(cfg.name, root, cfg.mirror, cfg.timeout)
        print(f"seg data download: {cfg.name} is in {root}" + ("" if fetched else " (already there)"))
        if (Path(config_dir()) / "dataset" / f"{cfg.name}.yaml").is_file():
            print(f"next: seg data check dataset={cfg.name} dataset.root={root}")
        return root
    if cfg.name is not None:
        raise ConfigError(f"seg data {cfg.action} takes dataset=NAME, not the word '{cfg.name}'")
    name = HydraConfig.get().runtime.choices.get("dataset", "?")
    dataset_cfg = dataset_config(cfg, cfg.action, name)
    root = dataset_cfg.get("root")
    title = f"dataset {name} ({dataset_cfg['_target_']}{f', root {root}' if root else ''})"
    if cfg.action == "check":
        return run_check(cfg, dataset_cfg, name, title)
    return run_show(cfg, dataset_cfg, title)
