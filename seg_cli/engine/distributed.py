"""torch.distributed plumbing for runs started by torchrun (one process per GPU or CPU slot)."""

from __future__ import annotations

import os
import re
from datetime import datetime

import torch
import torch.distributed as dist


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


def local_device(requested: str) -> torch.device:
    """`auto` picks CUDA when present; under torchrun each process takes its LOCAL_RANK GPU."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type == "cuda" and device.index is None and launched_by_torchrun():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


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


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
