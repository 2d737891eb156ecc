"""Shared fixtures: the embedded default config, and the tiny end-to-end run that the fast lane makes
once per test session and every workflow test reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.workflow import ROOT, load_config, make_workdir, run_snakemake, tiny_config


@pytest.fixture(scope="session")
def default_config() -> dict:
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """config/tiny.yaml end to end, then the report: two cores, at most one GPU job at a time (what a
    one-GPU workstation runs). Snakemake's output is kept in snakemake-local.log for the scheduling tests.

    With INEQBENCH_TINY_RUN set to a folder (`.ci/run` sets a fresh one), the run is made there once and
    the next test session of the same checkout reuses it: the slow lane's Slurm test compares with it."""
    shared = os.environ.get("INEQBENCH_TINY_RUN")
    done = Path(shared) / "tiny-run.done" if shared else None
    if done is not None and done.exists():
        return done.parent
    folder = Path(shared) if shared else tmp_path_factory.mktemp("tiny")
    folder.mkdir(parents=True, exist_ok=True)
    workdir = make_workdir(folder, tiny_config())
    result = run_snakemake(workdir, "--cores", "2", "--resources", "gpu=1", "--profile", "profiles/local")
    (workdir / "snakemake-local.log").write_text(result.stdout + result.stderr)
    run_snakemake(workdir, "--cores", "1", "--report", "results/default/report.html")
    if done is not None:
        done.write_text("complete\n")
    return workdir
