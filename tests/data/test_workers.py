import pytest
import torch

from seg_cli.data import build
from seg_cli.data.build import resolve_workers


@pytest.mark.parametrize("cores,device,local,expected", [
    (2, "cpu", 1, 0), (1, "cpu", 1, 0), (15, "cpu", 1, 0), (16, "cpu", 1, 1), (40, "cpu", 1, 2),
    (16, "cuda", 1, 8), (16, "cuda", 4, 3), (2, "cuda", 1, 1),
])
def test_auto_workers_follow_device_and_cores(monkeypatch, cores, device, local, expected):
    monkeypatch.setattr(build.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    assert resolve_workers("auto", torch.device(device)) == expected


def test_a_number_is_kept():
    assert resolve_workers(3, torch.device("cpu")) == 3 and resolve_workers(0, torch.device("cuda")) == 0
