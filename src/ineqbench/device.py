"""Device and thread choice for a job: CUDA when the job can see a GPU, else the CPU.

A job never names a GPU: the scheduler (Slurm through CUDA_VISIBLE_DEVICES, or nothing on a laptop)
decides what the process sees, and `cuda` is then the first visible device. The choice is logged with
what it was based on, so a job's log says where it ran.

float32 means IEEE float32 on every device: on Ampere and later GPUs cuDNN would run float32
convolutions in TF32 (a 10-bit mantissa), which moved `ig` maps of a tiny ResNet from the CPU's by up
to 3e-4 absolute on an H200 (41% of the values off by more than 1e-3 relative). The speed of lower
precision comes from the `mixed` setting, which is validated against float32
(benchmarks/mixed_precision.py)."""

from __future__ import annotations

import logging
import os
import socket

import torch

log = logging.getLogger(__name__)


def select_device(threads: int | None = None) -> torch.device:
    if threads:
        torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        use_ieee_float32()
    log.info("device %s; %s", device, describe_placement(device))
    return device


def use_ieee_float32() -> None:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def describe_placement(device: torch.device) -> str:
    """Host, scheduler job, visible GPUs and CPU threads, e.g. for the log of a Slurm job."""
    parts = [f"host {socket.gethostname()}"]
    if "SLURM_JOB_ID" in os.environ:
        parts.append(f"Slurm job {os.environ['SLURM_JOB_ID']}")
    parts.append(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}")
    if device.type == "cuda":
        parts.append(torch.cuda.get_device_name(device))
    parts.append(f"{torch.get_num_threads()} CPU threads")
    return ", ".join(parts)
