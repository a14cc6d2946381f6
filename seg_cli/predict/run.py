"""The predict loop: every item of a source through the predictor, each writer's output stored by the source."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from seg_cli.predict.predictor import Predictor
from seg_cli.predict.sources.base import Source, save_file
from seg_cli.predict.writers import OutputWriter, build_writers

log = logging.getLogger("seg.predict")


def predict_source(source: Source, predictor: Predictor, writers: list[OutputWriter], threshold: float = 0.5
                   ) -> tuple[int, int]:
    """Predict and store every readable item of `source`; an unreadable one is logged and skipped. Returns the
    numbers of items written and skipped; binary masks are foreground where prob >= `threshold`."""
    predictor.prepare()
    log.info("predicting %d %s(s) with %s", len(source), source.noun, predictor.source)
    written = skipped = 0
    for batch in source.batches(predictor.channels):
        if batch[0].error is not None:
            log.error("%s", batch[0].error)
            skipped += 1
            continue
        for item, result in zip(batch, predictor.predict_batch([item.image for item in batch], threshold)):
            result.frame = item.frame
            for writer in writers:
                source.store(item, writer, result)
            written += 1
    source.close()
    return written, skipped


def save_outputs(stem: Path, rgb: Any, logits: Any, task: str, save: list[str], overlay_alpha: float,
                 colours: list | None = None, threshold: float = 0.5) -> None:
    """Write the `save` files of one image from its (1, C, H, W) logits at the photo `rgb`'s size, without a
    source or predictor (a caller holding logits); `task` is the dataset.task name."""
    from seg_cli.predict.decoded import decode
    from seg_cli.tasks import get_task

    result = decode(logits, get_task(task), rgb, colours, threshold)
    for writer in build_writers(save, overlay_alpha=overlay_alpha):
        save_file(stem, writer, result)
