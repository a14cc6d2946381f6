"""A Hugging Face hub checkpoint without a network: a tiny random model and its image processor written into a
temporary HF_HOME in the hub cache's own layout (refs/main naming a snapshot folder), so the real cache
lookups of seg_cli.models.hf_hub and huggingface_hub run as they do for a downloaded id."""

from __future__ import annotations

from pathlib import Path

import torch

SEGFORMER_B0 = "nvidia/segformer-b0-finetuned-ade-512-512"
REVISION = "0" * 40


def tiny_segformer(class_names: list[str], seed: int = 0) -> torch.nn.Module:
    import transformers

    torch.manual_seed(seed)
    config = transformers.SegformerConfig(
        hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1], decoder_hidden_size=16,
        id2label=dict(enumerate(class_names)), label2id={name: i for i, name in enumerate(class_names)})
    return transformers.SegformerForSemanticSegmentation(config).eval()


def write_hub_cache(hf_home: Path, repo_id: str, model: torch.nn.Module, size: int = 64) -> Path:
    """`model` and a SegFormer image processor (size x size, ImageNet normalisation) cached as `repo_id`'s main
    revision under `hf_home`; returns the snapshot folder."""
    import transformers

    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    model.save_pretrained(snapshot)
    transformers.SegformerImageProcessor(size={"height": size, "width": size}).save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot
