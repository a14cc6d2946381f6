"""torchvision's published weights without a network: a randomly initialised model's state dict written into
a TORCH_HOME cache under the file name torchvision downloads, so the real cache path is exercised."""

from __future__ import annotations

from pathlib import Path

import torch

SMALLEST = "lraspp_mobilenet_v3_large"  # 3.2 M parameters, a 13 MB file


def write_published_cache(torch_home: Path, name: str = SMALLEST, seed: int = 0) -> Path:
    """Save a random `name` (21 classes) at `<torch_home>/hub/checkpoints/<URL's file name>`; returns the file."""
    from urllib.parse import urlparse

    from torchvision.models import segmentation as tvseg

    from seg_cli.models.torchvision_models import published_weights

    weights = published_weights(name)
    path = torch_home / "hub" / "checkpoints" / Path(urlparse(weights.url).path).name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    aux = {} if name.startswith("lraspp") else {"aux_loss": True}
    model = getattr(tvseg, name)(weights=None, weights_backbone=None, num_classes=21, **aux)
    torch.save(model.state_dict(), path)
    return path


def model_yaml(name: str) -> dict:
    """configs/model/NAME.yaml with the options its `defaults` names beneath it (a named hub checkpoint on hf.yaml)."""
    from seg_cli.models.published import option_config

    return option_config(name)


def offline_models() -> list[str]:
    """The model options that build with no download: all but the named hub checkpoints (segformer_b0, ...),
    whose architecture is the hub's config.json; `hf` (a transformers model type) stands for them here."""
    from seg_cli.paths import config_dir

    names = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))
    return [name for name in names if "/" not in str(model_yaml(name).get("name", ""))]
