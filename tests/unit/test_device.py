"""The device a job uses is what the scheduler lets it see; the log says where the job ran."""

from __future__ import annotations

import logging

import torch

from ineqbench import device as device_module


def test_cpu_when_no_gpu_is_visible_and_the_log_names_the_slurm_job(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    before = torch.get_num_threads()
    try:
        with caplog.at_level(logging.INFO, logger="ineqbench.device"):
            chosen = device_module.select_device(threads=2)
        assert chosen == torch.device("cpu")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    message = caplog.text
    assert "device cpu" in message and "Slurm job 4242" in message and "CUDA_VISIBLE_DEVICES=1" in message


def test_outside_slurm_the_log_says_nothing_of_a_job(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    text = device_module.describe_placement(torch.device("cpu"))
    assert "Slurm" not in text and "CUDA_VISIBLE_DEVICES=(unset)" in text
