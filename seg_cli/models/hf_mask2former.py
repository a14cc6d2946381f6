"""Mask2Former (transformers' `Mask2FormerForUniversalSegmentation`) under the model contract; `model=hf` builds it
for a Mask2Former hub id, folder or the model type `mask2former` (seg_cli.models.hf chooses this adapter).

Mask2Former predicts Q queries, each a class distribution over C classes and a "no object" class, and a mask at a
quarter of the input size. Its image processor's semantic map (`post_process_semantic_segmentation`) is, per
class, the sum over the queries of the class probability (the null class dropped) times the sigmoid of the
mask, the mask logits resized before the sigmoid. "out" is the log of these scores, for three reasons: the log
keeps the argmax, so seg's labels are the post-processing's; the softmax that predict and the panels take of
"out" is then the scores normalised over the classes, a per-pixel class distribution (the scores themselves,
up to Q in sum, would make softmax meaningless); and TTA and sliding windows average logs, a geometric mean.

The image is zero-padded (bottom, right) to a multiple of the backbone's largest stride, so every feature level
and the masks cover it exactly, and "out" is cropped back. In training mode the raw outputs the loss needs go
under "loss_inputs" (the class and mask logits of the last decoder layer and of the auxiliary ones, and the
padded size the masks cover); they train with the mask-classification loss that SPEC declares
(seg_cli.losses.mask_classification), which `loss=auto` picks and no other loss replaces. So nothing trains on
"out" there: it comes without gradient and from the masks at their own resolution (the scores then resized),
which spares the Q full-size masks (at 512 x 512, 100 queries and 150 classes, about 4 GB a batch of 8).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seg_cli.models import hf_hub
from seg_cli.models.contract import LOSS_INPUTS, OUT, ContractAdapter, ModelSpec

MODEL_TYPES = ("mask2former",)  # the transformers model types this adapter serves
SPEC = ModelSpec(encoder=("model.model.pixel_level_module.encoder",), download_keys=("pretrained",),
                 loss="seg_cli.losses.mask_classification.MaskClassificationLoss", unused_parameters=True)


def model_class(transformers: Any) -> Any:
    """The transformers auto class that builds Mask2Former (not in AutoModelForSemanticSegmentation's mapping)."""
    return transformers.AutoModelForUniversalSegmentation


class Mask2FormerAdapter(hf_hub.HubModel, ContractAdapter):
    """A transformers Mask2Former: "out" = log semantic scores at the input size, "loss_inputs" in training."""

    def __init__(self, model: nn.Module, name: str = "") -> None:
        ContractAdapter.__init__(self, model, SPEC)
        self.name = name
        self.size_bound = True  # export (contract.size_bound): torch.export fails with dynamic H, W (measured)
        self.multiple = int(max(model.config.feature_strides))  # plain ints: the state_dict keeps only `model.`
        self.aux_loss = bool(model.config.use_auxiliary_loss)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor | dict[str, Any]]:
        height, width = images.shape[-2:]
        padded = F.pad(images, (0, -width % self.multiple, 0, -height % self.multiple))
        size = tuple(padded.shape[-2:])
        raw = self.model(pixel_values=padded, output_auxiliary_logits=self.training and self.aux_loss)
        classes, masks = raw.class_queries_logits, raw.masks_queries_logits
        if not self.training:
            return {OUT: semantic_log_scores(classes, masks, size)[..., :height, :width]}
        with torch.no_grad():
            # Nothing trains on "out" here (the mask loss reads loss_inputs; other losses are refused): the scores at
            # the masks' own resolution, then resized, spare the Q full-size masks eval needs.
            scores = semantic_log_scores(classes, masks, tuple(masks.shape[-2:]))
            out = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
        loss_inputs = {"class_queries_logits": classes, "masks_queries_logits": masks,
                       "auxiliary_logits": raw.auxiliary_logits, "size": size}
        return {OUT: out[..., :height, :width], LOSS_INPUTS: loss_inputs}


def semantic_log_scores(class_logits: torch.Tensor, mask_logits: torch.Tensor,
                        size: tuple[int, int]) -> torch.Tensor:
    """(B, C, *size): the log of post_process_semantic_segmentation's scores, the sum over queries of
    softmax(class logits) without the null class x sigmoid(mask logits resized to `size`)."""
    masks = F.interpolate(mask_logits, size=size, mode="bilinear", align_corners=False).sigmoid()
    probabilities = class_logits.softmax(-1)[..., :-1]
    scores = torch.einsum("bqc,bqhw->bchw", probabilities, masks)
    # A class no query claims scores 0: clamped, its log is very negative but finite (argmax and softmax stay defined).
    return scores.clamp_min(torch.finfo(scores.dtype).tiny).log()
