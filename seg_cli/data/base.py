"""What every dataset shares: label checks, the error policy and the seeded paired transform call."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from seg_cli.data.bands import match_bands
from seg_cli.data.cache import SampleCache
from seg_cli.data.io import load_image
from seg_cli.data.labels import LabelConvention
from seg_cli.data.targets import holds_0_255, labels_from_0_255
from seg_cli.data.transform_config import build_eval_transform, build_train_transform, image_channels
from seg_cli.errors import DataError
from seg_cli.tasks import DEFAULT_TASK, get_task

PairTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

log = logging.getLogger(__name__)

def split_transforms(split: str, settings: dict[str, Any], task: str) -> PairTransform:
    """The transforms `seg train` gives `split` by default: training ones for "train", else eval ones, moving
    the mask as the task's target type."""
    target = get_task(task).target
    if split == "train":
        return build_train_transform(settings, target=target)
    return build_eval_transform(settings, target=target)


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The entries of `values` that are not None (None: the key's default, which its reader knows)."""
    return {key: value for key, value in values.items() if value is not None}


class SegmentationDataset(Dataset):
    """Base class: subclasses implement `__len__`, `load_pair` and `sample_name`.

    Items may be requested as `index` or as `(index, seed)`: with a seed, the random transforms are
    drawn from that seed alone (see seg_cli.data.samplers.TrainSampler).
    """

    def __init__(
        self,
        split: str,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        ignore_index: int = 255,
        transforms: PairTransform | None = None,
        task: str = DEFAULT_TASK,
        *,
        label_map: dict[Any, Any] | None = None,
        reduce_zero_label: bool | None = None,
        palette: Sequence[Sequence[int]] | str | None = None,
        void_colors: Sequence[Sequence[int]] | None = None,
        base_size: int | None = None,
        crop_size: int | Sequence[int] | None = None,
        hflip_prob: float | None = None,
        scale_range: Sequence[float] | None = None,
        resize: str | None = None,
        in_channels: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        """The keyword-only keys are in every dataset config, besides each class's own: the label convention
        (seg_cli.data.labels), the transform sizes and the image format (seg_cli.data.transform_config); None
        takes their defaults. Subclasses pass them on, so a dataset YAML's keys are its class's keyword
        arguments. Given a `base_size` and no `transforms`, the dataset makes its split's transforms itself,
        the ones `seg train` gives it (training ones for "train", else eval ones)."""
        self.split = split
        self.num_classes = num_classes
        self.task = task
        # Binary models have one output channel (num_classes: 1) but masks hold two labels, 0 and 1.
        self.label_count = get_task(task).label_count(num_classes)
        self.class_names = list(class_names) if class_names else [f"class_{i}" for i in range(self.label_count)]
        self.ignore_index = ignore_index
        self.on_error = "raise"
        # Shared with forked DataLoader workers, so the main process can report how many were skipped.
        self._skipped = multiprocessing.Value("i", 0)
        # Do the masks load_pair returns hold 0/255 for background/foreground? None until a mask can tell
        # (holds_0_255); a subclass that maps its own masks settles it at start-up (FolderSegmentation).
        self._zero_255_masks: bool | None = None
        self.cache: SampleCache | None = None  # set for training (data.cache_mib): decoded pairs kept in RAM
        labels = dict(label_map=label_map, reduce_zero_label=reduce_zero_label, palette=palette,
                      void_colors=void_colors)
        self.labels = LabelConvention(**given(labels), ignore_index=ignore_index, label_count=self.label_count)
        sample = dict(base_size=base_size, crop_size=crop_size, hflip_prob=hflip_prob, scale_range=scale_range,
                      resize=resize, in_channels=in_channels, mean=mean, std=std)
        self.in_channels = image_channels(given(sample))  # the image channels samples have
        if transforms is None and base_size is not None:
            transforms = split_transforms(split, {**given(sample), "ignore_index": ignore_index}, task)
        self.transforms = transforms

    def read_image_file(self, path) -> torch.Tensor:
        """An image file with `in_channels` channels (see seg_cli.data.io.load_image): what load_pair uses."""
        return load_image(path, channels=self.in_channels)

    def read_mask_file(self, path) -> torch.Tensor:
        """A mask file as class indices by the dataset's label convention: what load_pair uses."""
        return self.labels.read(path)

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Image as (in_channels, H, W), uint8 or float32 on the [0, 1] scale (seg_cli.data.bands), and mask as
        stored values (H, W), before transforms."""
        raise NotImplementedError

    def sample_name(self, index: int) -> str:
        """A human-readable name of sample `index` (a file path where there is one)."""
        raise NotImplementedError

    def sample_files(self, index: int) -> dict[str, str]:
        """{"image": ..., "mask": ...}: the files of sample `index` (per_image.csv's columns); datasets of files
        say which is which, others give their sample name as the image."""
        return {"image": self.sample_name(index)}

    def image_size(self, index: int) -> tuple[int, int] | None:
        """(height, width) of image `index` before transforms, where it is known without decoding it
        (None: unknown). Evaluation batches images of one input shape together with it."""
        return None

    def missing_files(self) -> list[str]:
        """Files the dataset lists but that do not exist (cheap start-up check; override per dataset)."""
        return []

    @property
    def skipped(self) -> int:
        return self._skipped.value

    def checked_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`load_pair` plus the label convention and the checks every sample must pass."""
        return self.check_loaded(index, *self.load_pair(index))

    def check_loaded(self, index: int, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A loaded pair with its stored mask values checked and typed by the task's target (uint8 class
        indices, seg_cli.data.targets), and the image with `in_channels` channels (a no-op for images read by
        read_image_file)."""
        if tuple(image.shape[-2:]) != tuple(mask.shape[-2:]):
            raise DataError(f"{self.sample_name(index)}: image is {tuple(image.shape[-2:])} "
                            f"but its mask is {tuple(mask.shape[-2:])}")
        image = match_bands(image, self.in_channels, f"of {self.sample_name(index)}")
        target = get_task(self.task).target
        if target.reads_0_255(self.label_count, self.ignore_index, self.labels.maps_values):
            mask = self._map_binary_255(mask, index)
        return image, target.typed(mask, self.label_count, self.ignore_index, self.sample_name(index))

    def _map_binary_255(self, mask: torch.Tensor, index: int) -> torch.Tensor:
        """0/255 masks in a two-label dataset mean background/foreground, not background/ignore.

        Decided once per dataset, from the first mask with non-zero values, so a 0/1/255 mask whose
        image happens to have no foreground is not misread.
        """
        if self._zero_255_masks is None:
            self._zero_255_masks = holds_0_255(mask)
            if self._zero_255_masks:
                log.warning("masks hold only 0 and 255 (e.g. %s): reading 255 as label 1, not as ignore",
                            self.sample_name(index))
        return labels_from_0_255(mask) if self._zero_255_masks else mask

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, None)
        image, mask = self._loaded_pair(index)
        if self.transforms is None:
            return image, mask
        if seed is None:
            return self.transforms(image, mask)
        with torch.random.fork_rng(devices=[]):
            # The CPU generator alone: torch.manual_seed also queues CUDA/MPS seeding (0.12 ms a sample).
            torch.default_generator.manual_seed(seed)
            return self.transforms(image, mask)

    def _loaded_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample `index` as read and checked, from the cache when it holds it (transforms never write
        into their inputs, so a cached pair stays as loaded)."""
        if self.cache is None:
            return self._first_readable(index)
        pair = self.cache.get(index)
        if pair is None:
            pair = self._first_readable(index)
            self.cache.put(index, pair)
        return pair

    def check_first_sample(self) -> None:
        """The start-up check that fails fast on unreadable files or labels outside the class range: sample 0
        must pass, or with data.on_error=skip the first readable sample after it (none readable is an error).
        Nothing is counted or logged here: the epoch that meets an unreadable sample does that."""
        self._first_readable(0, record=False)

    def _first_readable(self, index: int, record: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample `index`, or with on_error=skip the next readable one (each skip counted and logged when
        `record`)."""
        for offset in range(len(self)):
            try:
                return self.checked_pair((index + offset) % len(self))
            except DataError as exc:
                if self.on_error == "raise":
                    raise
                if record:
                    with self._skipped.get_lock():
                        self._skipped.value += 1
                    log.warning("skipped: %s", exc)
        raise DataError(f"no readable sample in the {self.split} split (data.on_error=skip skipped them all)")
