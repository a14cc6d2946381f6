"""Device choice on a faked CUDA machine: every CUDA device has an index, a device the machine lacks is one line."""

from __future__ import annotations

import warnings

import pytest
import torch

from seg_cli.engine import distributed
from seg_cli.engine.runtime import amp_dtype, grad_scaler
from seg_cli.errors import ConfigError


def fake_cuda(monkeypatch: pytest.MonkeyPatch, count: int) -> list[torch.device]:
    """Make torch see `count` CUDA devices (0: none); returns the list each set_device call appends to.

    The real set_device refuses an index-less device (ValueError in torch >= 2), so the fake does too.
    """
    calls: list[torch.device] = []

    def set_device(device: torch.device) -> None:
        calls.append(device)
        if isinstance(device, torch.device) and device.index is None:
            raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "set_device", set_device)
    for name in ("LOCAL_RANK", "WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    return calls


@pytest.mark.parametrize("requested", ["auto", "cuda", "cuda:0"])
def test_one_gpu_gets_cuda_0_with_its_index(monkeypatch, requested):
    calls = fake_cuda(monkeypatch, 1)
    device = distributed.local_device(requested)
    assert device == torch.device("cuda", 0) and device.index == 0
    assert calls == [torch.device("cuda", 0)]


def test_under_torchrun_each_process_takes_its_local_rank_gpu(monkeypatch):
    calls = fake_cuda(monkeypatch, 4)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert distributed.local_device("auto") == torch.device("cuda", 3)
    assert distributed.local_device("cuda") == torch.device("cuda", 3)
    assert distributed.local_device("cuda:1") == torch.device("cuda", 1)  # one process per node: kept as given
    assert calls == [torch.device("cuda", 3), torch.device("cuda", 3), torch.device("cuda", 1)]


def test_one_gpu_named_for_every_process_of_a_node_is_one_line(monkeypatch):
    calls = fake_cuda(monkeypatch, 4)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(ConfigError, match="train.device=cuda:0 names one GPU for all 4 processes of this node; "
                                          "under torchrun use train.device=auto or train.device=cuda"):
        distributed.local_device("cuda:0", key="train.device")
    assert distributed.local_device("cuda", key="train.device") == torch.device("cuda", 1)
    assert calls == [torch.device("cuda", 1)]


def test_more_torchrun_processes_than_gpus_is_one_line_with_the_fix(monkeypatch):
    calls = fake_cuda(monkeypatch, 2)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "2")
    with pytest.raises(ConfigError) as error:
        distributed.local_device("auto", key="train.device")
    assert str(error.value) == ("train.device=auto: needs cuda:2 for the process with LOCAL_RANK=2 but this machine "
                                "has 2 CUDA device(s); choose from: auto, cpu, cuda, cuda:0 ... cuda:1; start at most "
                                "2 process(es) per node")
    assert calls == []


@pytest.mark.parametrize(("count", "message"), [
    (1, "device=cuda:5: needs cuda:5 but this machine has 1 CUDA device(s); choose from: auto, cpu, cuda, cuda:0"),
    (3, "device=cuda:5: needs cuda:5 but this machine has 3 CUDA device(s); choose from: auto, cpu, cuda, "
        "cuda:0 ... cuda:2"),
])
def test_an_index_past_the_last_gpu_is_one_line_naming_the_key(monkeypatch, count, message):
    calls = fake_cuda(monkeypatch, count)
    with pytest.raises(ConfigError) as error:
        distributed.local_device("cuda:5")
    assert str(error.value) == message
    assert calls == []


@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_one_line_naming_the_key_and_allowed_values(monkeypatch, requested):
    calls = fake_cuda(monkeypatch, 0)
    with pytest.raises(ConfigError) as error:
        distributed.local_device(requested, key="train.device")
    message = str(error.value)
    assert message.startswith(f"train.device={requested}: ") and message.endswith("; choose from: auto, cpu")
    assert "\n" not in message and calls == []


def test_auto_without_a_gpu_is_the_cpu_and_sets_no_cuda_device(monkeypatch):
    calls = fake_cuda(monkeypatch, 0)
    assert distributed.local_device("auto") == torch.device("cpu")
    assert distributed.local_device("cpu") == torch.device("cpu")
    assert calls == []


@pytest.mark.parametrize("requested", ["gpu", "cuda:x", "cuda:-1", "cuda0", ""])
def test_a_value_that_is_no_device_lists_the_choices(monkeypatch, requested):
    fake_cuda(monkeypatch, 1)
    with pytest.raises(ConfigError) as error:
        distributed.local_device(requested, key="train.device")
    assert str(error.value) == f"train.device={requested!r} is not allowed; choose from: auto, cpu, cuda, cuda:N"


def test_amp_on_an_indexed_cuda_device_is_on_and_float16_gets_a_scaler():
    # local_device now returns cuda:N, never bare cuda: AMP must look at the device type, not compare devices.
    assert amp_dtype(torch.device("cuda", 3), True, "float16") is torch.float16
    assert amp_dtype(torch.device("cuda", 0), True, "bfloat16") is torch.bfloat16
    assert amp_dtype(torch.device("cuda", 0), False, "float16") is None
    assert amp_dtype(torch.device("cpu"), True, "float16") is None
    with warnings.catch_warnings():  # without a real GPU the scaler warns that it disables itself
        warnings.simplefilter("ignore")
        assert isinstance(grad_scaler(torch.float16), torch.amp.GradScaler)
    assert grad_scaler(torch.bfloat16) is None and grad_scaler(None) is None
