"""What every dataset shares: label checks, the error policy and the seeded paired transform call."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from seg_cli.data.bands import match_bands
from seg_cli.data.cache import SampleCache
from seg_cli.data.io import check_labels, load_image
from seg_cli.data.labels import LabelConvention
from seg_cli.errors import DataError
from seg_cli.tasks import DEFAULT_TASK, get_task

PairTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

log = logging.getLogger(__name__)


def holds_0_255(mask: torch.Tensor) -> bool | None:
    """Whether a dataset whose first telling mask is `mask` stores binary masks as 0/255.

    The one rule both the lazy check below and FolderSegmentation's start-up probe apply: a mask without
    any non-zero value cannot tell (None); otherwise it says 0/255 when it holds no value but 0 and 255.
    """
    if not bool(mask.any()):
        return None
    return not bool(((mask != 0) & (mask != 255)).any())


def labels_from_0_255(mask: torch.Tensor) -> torch.Tensor:
    """A 0/255 binary mask as labels 0/1 (255 is foreground here, not the ignore label)."""
    return (mask == 255).to(torch.uint8)


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
    ) -> None:
        self.split = split
        self.num_classes = num_classes
        self.task = task
        # Binary models have one output channel (num_classes: 1) but masks hold two labels, 0 and 1.
        self.label_count = get_task(task).label_count(num_classes)
        self.class_names = list(class_names) if class_names else [f"class_{i}" for i in range(self.label_count)]
        self.ignore_index = ignore_index
        self.transforms = transforms
        self.on_error = "raise"
        # Shared with forked DataLoader workers, so the main process can report how many were skipped.
        self._skipped = multiprocessing.Value("i", 0)
        # Do the masks load_pair returns hold 0/255 for background/foreground? None until a mask can tell
        # (holds_0_255); a subclass that maps its own masks settles it at start-up (FolderSegmentation).
        self._zero_255_masks: bool | None = None
        self.cache: SampleCache | None = None  # set for training (data.cache_mib): decoded pairs kept in RAM
        # dataset.palette / label_map / reduce_zero_label, set by seg_cli.data.build.build_dataset
        self.labels = LabelConvention(ignore_index=ignore_index)
        self.in_channels = 3  # dataset.in_channels, set by build_dataset: the image channels samples have

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
        """A loaded pair with its stored mask values turned into checked uint8 class indices, and the image
        with `in_channels` channels (a no-op for images read by read_image_file)."""
        if tuple(image.shape[-2:]) != tuple(mask.shape):
            raise DataError(f"{self.sample_name(index)}: image is {tuple(image.shape[-2:])} "
                            f"but its mask is {tuple(mask.shape)}")
        image = match_bands(image, self.in_channels, f"of {self.sample_name(index)}")
        if self.label_count == 2 and self.ignore_index == 255 and not self.labels.maps_values:
            mask = self._map_binary_255(mask, index)
        check_labels(mask, self.label_count, self.ignore_index, self.sample_name(index))
        return image, mask.to(torch.uint8)

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
