"""torch.distributed plumbing for runs started by torchrun (one process per GPU or CPU slot)."""

from __future__ import annotations

import os
import re
from datetime import datetime

import torch
import torch.distributed as dist

from seg_cli.choices import DEVICE_PATTERN
from seg_cli.choices import DEVICES as DEVICE_CHOICES
from seg_cli.errors import ConfigError


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main_process() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed() -> None:
    """Join the process group torchrun (or a SLURM job via submitit) describes in the environment."""
    export_slurm_environment()
    if launched_by_torchrun() and not dist.is_initialized():
        dist.init_process_group()


def export_slurm_environment() -> None:
    """Inside a multi-task submitit job, set RANK / WORLD_SIZE / MASTER_ADDR ... as torchrun would."""
    if "WORLD_SIZE" in os.environ or int(os.environ.get("SLURM_NTASKS", "1")) <= 1:
        return
    try:
        from submitit.helpers import TorchDistributedEnvironment

        TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    except (ImportError, RuntimeError):  # not a submitit job: plain srun users launch torchrun themselves
        return


def local_device(requested: str, key: str = "device") -> torch.device:
    """The device `key=requested` names, checked against this machine and made CUDA's current device.

    `auto` picks CUDA when present. A CUDA device always gets an index (`cuda` -> `cuda:LOCAL_RANK`, 0 outside
    torchrun): `torch.cuda.set_device` refuses an index-less one, and under torchrun each process takes its own
    GPU. A device this machine lacks is a ConfigError naming `key`.
    """
    device = parse_device(requested, key)
    if device.type == "cuda":
        check_cuda_device(device, requested, key)
        torch.cuda.set_device(device)
    return device


def parse_device(requested: str, key: str = "device") -> torch.device:
    """`auto` | `cpu` | `cuda` | `cuda:N` as a torch.device, CUDA ones with their index."""
    text = str(requested).strip()
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda":
        return torch.device("cuda", local_rank())
    if not re.fullmatch(DEVICE_PATTERN, text):
        raise ConfigError(f"{key}={requested!r} is not allowed; choose from: {', '.join(DEVICE_CHOICES)}")
    if int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1:
        # Every process of the node would take that one GPU (NCCL then fails on duplicate GPUs).
        raise ConfigError(f"{key}={requested} names one GPU for all {os.environ['LOCAL_WORLD_SIZE']} processes of "
                          f"this node; under torchrun use {key}=auto or {key}=cuda (each process takes "
                          "cuda:LOCAL_RANK), and CUDA_VISIBLE_DEVICES to choose the GPUs")
    return torch.device("cuda", int(text.split(":")[1]))


def check_cuda_device(device: torch.device, requested: str, key: str) -> None:
    """Refuse a CUDA device this machine does not have, with the values it does allow."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        why = "this torch is a CPU-only build" if torch.version.cuda is None else "torch finds no CUDA GPU"
        raise ConfigError(f"{key}={requested}: {why}; choose from: auto, cpu")
    if device.index >= count:
        process = f" for the process with LOCAL_RANK={device.index}" if requested in ("auto", "cuda") else ""
        fix = f"; start at most {count} process(es) per node" if process else ""
        raise ConfigError(f"{key}={requested}: needs cuda:{device.index}{process} but this machine has {count} "
                          f"CUDA device(s); choose from: auto, cpu, cuda, {cuda_range(count)}{fix}")


def local_rank() -> int:
    """This process's GPU slot on its node: LOCAL_RANK as torchrun (or submitit) sets it, else 0."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def cuda_range(count: int) -> str:
    return "cuda:0" if count == 1 else f"cuda:0 ... cuda:{count - 1}"


def shared_run_dir_overrides(command: str, overrides: list[str]) -> list[str]:
    """`overrides` made to give all ranks one Hydra run dir (rank 0's clock), and other ranks quiet."""
    init_distributed()
    when = [datetime.now() if rank() == 0 else None]
    dist.broadcast_object_list(when, src=0)
    return run_dir_overrides(command, overrides, when[0], rank())


def run_dir_overrides(command: str, overrides: list[str], when: datetime, process_rank: int) -> list[str]:
    """The overrides of one rank of a torchrun job.

    A `hydra.run.dir=...` on the command line wins; without one, the config's default
    (`${output_root}/<command>/<date>/<time>`) is used. Either way every `${now:...}` is replaced by
    `when`, rank 0's clock, so ranks started milliseconds apart cannot end up in different folders.
    """
    given = any(o.split("=", 1)[0].lstrip("+~") == "hydra.run.dir" for o in overrides)
    default = f"hydra.run.dir=${{output_root}}/{command}/${{now:%Y-%m-%d}}/${{now:%H-%M-%S-%f}}"
    pinned = [pin_now(o, when) for o in (overrides if given else [*overrides, default])]
    if process_rank != 0:
        pinned += ["hydra.output_subdir=null", "hydra/job_logging=disabled", "hydra/hydra_logging=disabled"]
    return pinned


def pin_now(override: str, when: datetime) -> str:
    """`override` with each `${now:PATTERN}` replaced by `when` formatted with PATTERN."""
    return re.sub(r"\$\{now:([^}]*)\}", lambda match: when.strftime(match.group(1)), override)


def cleanup(together: bool = True) -> None:
    """Leave the process group, `together` (all ranks finished the same work) after a barrier: rank 0 may
    still be writing (plots, report.html) when the others finish, and a rank tearing gloo down while a peer is
    busy aborted ('terminate called without an active exception') under load. A rank failing alone must not
    wait at a barrier its peers never reach: it leaves at once, and torchrun stops the others."""
    if dist.is_available() and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()
