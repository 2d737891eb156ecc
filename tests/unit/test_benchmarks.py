"""Every benchmark script still imports against the current package (their timings are run by hand,
never in tests; a stale import would only show when someone runs one)."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from ineqbench.benchmarking import random_model
from tests.helpers.workflow import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def load(script):
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # each script runs its measurement only under __main__
    return module


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_script_imports(script):
    assert callable(getattr(load(script), "main", None)), f"{script.name} has no main()"


def test_every_stage_of_the_gpu_check_runs_on_a_tiny_model(monkeypatch):
    """The GPU check runs where device time is scarce: each of its stages runs here first, on a tiny
    model at 224 px, so a stale call fails in the test lane and not on the GPU machine."""
    check = load(ROOT / "benchmarks/gpu_check.py")
    device = torch.device("cpu")
    model = random_model("test_resnet", device)
    sizes = check.CPU | {"pass_sizes": [8]}
    rows = check.attribution_rows(model, sizes, device, internal_batch_size=8)
    rows += check.occlusion_rows(model, sizes | {"occlusion_images": 2}, device)
    rows += check.sigma_rows(model, sizes | {"sigma_iters": 3}, device)
    monkeypatch.setattr(check, "random_model", lambda arch, device: model)  # each paper arch, tiny here
    rows += check.projection_rows(device, sizes, {"float32": 0.5}, "float32")
    measured = {r["what"]: r["value"] for r in rows}
    assert {"ig ratio to limit (bfloat16)", "fwd+bwd limit (float32, channels_last)"} <= set(measured)
    assert all(math.isfinite(v) and v > 0 for v in measured.values()), measured
    assert measured["Table 1 projection, total (float32)"] > 0
    assert "0 decisions differ" in next(r["detail"] for r in rows if r["what"] == "occlusion search, batched")


def test_job_seconds_reads_rule_times_from_a_snakemake_log():
    log = """[Fri Dec  4 16:20:00 2026]
localrule train_model:
    jobid: 8
[Fri Dec  4 16:20:00 2026]
rule attribute:
    jobid: 10
[Fri Dec  4 16:21:03 2026]
Finished jobid: 10 (Rule: attribute)
[Fri Dec  4 16:21:40 2026]
Finished jobid: 8 (Rule: train_model)
"""
    seconds, jobs, wall = load(ROOT / "benchmarks/job_seconds.py").job_seconds(log)
    assert seconds == {"attribute": 63.0, "train_model": 100.0} and jobs["train_model"] == 1 and wall == 100.0
