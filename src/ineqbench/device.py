"""Device and thread choice for a job: CUDA when the job can see a GPU, else the CPU."""

from __future__ import annotations

import torch


def select_device(threads: int | None = None) -> torch.device:
    if threads:
        torch.set_num_threads(threads)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
