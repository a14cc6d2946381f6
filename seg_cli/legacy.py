"""Config targets that moved: checkpoints written before a move still rebuild their model, data and loss.

A checkpoint carries its resolved config, `_target_` paths included. When a builder moves or is replaced,
its old path is listed here with the new one and the keyword arguments the new builder needs that the old
config lacks (they describe what the old builder did implicitly).
"""

from __future__ import annotations

from typing import Any

# old `_target_` -> (new `_target_`, keyword arguments added under the old config's own keys)
MOVED_TARGETS: dict[str, tuple[str, dict[str, Any]]] = {
    # DUTS and HK became configs of one split-folder class; the folders the old classes knew are frozen here
    "seg_cli.data.duts.DUTSSaliency": ("seg_cli.data.paired.PairedFolders", {
        "name": "DUTS", "split_dirs": {"train": "DUTS-TR", "val": "DUTS-TE", "test": "DUTS-TE"},
        "images_dir": "{split_dir}/{split_dir}-Image", "masks_dir": "{split_dir}/{split_dir}-Mask",
        "image_extensions": [".jpg", ".jpeg", ".png"], "mask_extensions": [".png"],
        "layout": "<root>/DUTS-TR/{DUTS-TR-Image/*.jpg, DUTS-TR-Mask/*.png} and "
                  "<root>/DUTS-TE/{DUTS-TE-Image, DUTS-TE-Mask}",
    }),
    "seg_cli.data.hk.HKPortraits": ("seg_cli.data.paired.PairedFolders", {
        "name": "HK", "split_dirs": {"train": "training/", "val": "testing/", "test": "testing/"},
        "images_dir": "{split_dir}", "masks_dir": "{split_dir}", "mask_suffix": "_matte",
        "image_extensions": [".png", ".jpg", ".jpeg"], "mask_extensions": [".png"],
        "layout": "<root>/training/{NNNNN.png, NNNNN_matte.png} and <root>/testing/{NNNNN.png, NNNNN_matte.png}",
    }),
    # the losses left seg_cli.engine for a package of their own
    "seg_cli.engine.losses.SegmentationLoss": ("seg_cli.losses.cross_entropy.SegmentationLoss", {}),
    "seg_cli.engine.losses.default_loss": ("seg_cli.losses.cross_entropy.default_loss", {}),
    "seg_cli.engine.binary_losses.BinarySegmentationLoss": ("seg_cli.losses.binary.BinarySegmentationLoss", {}),
    "seg_cli.engine.binary_losses.DiceCrossEntropyLoss": ("seg_cli.losses.binary.DiceCrossEntropyLoss", {}),
    "seg_cli.engine.focal.FocalLoss": ("seg_cli.losses.focal.FocalLoss", {}),
    "seg_cli.engine.focal.WeightedCrossEntropyLoss": ("seg_cli.losses.focal.WeightedCrossEntropyLoss", {}),
}


def current_target(target: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The `_target_` and keyword arguments to call today for a config written with `target`."""
    if target not in MOVED_TARGETS:
        return target, kwargs
    new_target, implied = MOVED_TARGETS[target]
    return new_target, {**implied, **kwargs}
