"""Paired folders whose images come with a field-of-view mask: pixels outside it are ignored.

Retinal sets (DRIVE, and STARE / CHASE_DB1 in the same shape) photograph a round fundus inside a black
frame; the frame is no background to learn or score, so its pixels take the ignore index, as UNet
recipes on DRIVE do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seg_cli.data.paired import PairedFolders, load_thresholded_mask, pair_by_stem
from seg_cli.errors import DataError


class FieldOfViewFolders(PairedFolders):
    """PairedFolders plus `fov_dir` / `fov_suffix` (templates like `images_dir`): one field-of-view mask per
    image, non-zero inside; the label is set to the ignore index wherever it is zero."""

    def __init__(self, root: str, split: str, fov_dir: str = "{split_dir}/mask", fov_suffix: str = "_mask",
                 fov_extensions: tuple[str, ...] | list[str] = (".gif", ".png"), **kwargs: Any) -> None:
        super().__init__(root, split, **kwargs)
        fill = {"split_dir": kwargs["split_dirs"][split].rstrip("/")}
        image_dir = Path(root) / kwargs.get("images_dir", "{split_dir}").format(**fill)
        views = pair_by_stem(image_dir, Path(root) / fov_dir.format(**fill),
                             kwargs.get("image_suffix", "").format(**fill), fov_suffix.format(**fill),
                             kwargs.get("image_extensions", (".jpg", ".jpeg", ".png")), fov_extensions)
        self.fov = {image: view for image, view in views.values()}

    def load_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = super().load_pair(index)
        image_path = self.pairs[index][0]
        view = load_thresholded_mask(self.fov[image_path], 127)  # grey level: GIF palette order varies
        if tuple(view.shape) != tuple(mask.shape):
            raise DataError(f"field-of-view mask {self.fov[image_path]} is {tuple(view.shape)} but the image "
                            f"{image_path} is {tuple(mask.shape)}")
        return image, torch.where(view > 0, mask, torch.full_like(mask, self.ignore_index))
