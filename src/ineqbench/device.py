"""Device and thread choice for a job: CUDA when the job can see a GPU, else the CPU.

A job never names a GPU: the scheduler (Slurm through CUDA_VISIBLE_DEVICES, or nothing on a laptop)
decides what the process sees, and `cuda` is then the first visible device. The choice is logged with
what it was based on, so a job's log says where it ran."""

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
    log.info("device %s; %s", device, describe_placement(device))
    return device


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
