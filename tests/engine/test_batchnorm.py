"""Batch size 1: which BatchNorm layers cannot train, the warning for the others, and PyTorch's error as one line."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from seg_cli.engine.batchnorm import single_value_batchnorms, use_sync_batchnorm
from seg_cli.engine.loop import train_one_epoch
from seg_cli.errors import ConfigError
from tests.helpers import FAST_TRAIN, read_metrics, run_dirs, run_seg


class PooledHead(nn.Module):
    """A conv net with a BatchNorm after global pooling (as DeepLabV3's ASPP pooling branch)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.pool(self.body(x))


def test_probe_names_only_the_layers_after_a_pooled_map():
    model = PooledHead().train()
    before = model.pool[2].running_mean.clone()
    assert single_value_batchnorms(model, (12, 12)) == ["pool.2"]
    assert single_value_batchnorms(model.body, (12, 12)) == []
    assert model.training and torch.equal(model.pool[2].running_mean, before)  # the probe changes nothing
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        model(torch.zeros(1, 3, 12, 12))  # the probe agrees with PyTorch


def test_pytorchs_single_value_error_becomes_one_line_naming_the_layer():
    model = PooledHead()
    loader = DataLoader(TensorDataset(torch.randn(2, 3, 12, 12), torch.zeros(2, 12, 12, dtype=torch.long)),
                        batch_size=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    with pytest.raises(ConfigError, match=r"train.batch_size=1: BatchNorm layer pool.2 sees one value per channel.*"
                                          r"train.batch_size>=2"):
        train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, loader, scheduler, torch.device("cpu"), 0)


def test_sync_batchnorm_auto_means_several_cuda_processes():
    assert use_sync_batchnorm("auto", "cuda", 2) and not use_sync_batchnorm("auto", "cpu", 2)
    assert not use_sync_batchnorm("auto", "cuda", 1) and use_sync_batchnorm("true", "cpu", 1)
    assert not use_sync_batchnorm(False, "cuda", 4)


@pytest.mark.slow
def test_batchnorm_model_trains_at_batch_1_with_a_warning(tmp_path):
    result = run_seg("train", "train.batch_size=1", *FAST_TRAIN[4:], "train.epochs=1", "train.workers=0",
                     "train.progress=false", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "train.batch_size=1 with BatchNorm: the batch statistics of one image are noisy" in result.stdout + result.stderr
    assert read_metrics(run_dirs(tmp_path)[-1])["epoch"] == 1
