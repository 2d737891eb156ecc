"""Shared fixtures: the embedded default config; the tiny end-to-end run that the fast lane makes once per
test session and its workflow tests read; the slow lane's ladder run, which the incremental-rerun and
Slurm tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.workflow import ROOT, ladder_config, load_config, make_workdir, run_snakemake, tiny_config


@pytest.fixture(scope="session")
def default_config() -> dict:
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """config/tiny.yaml end to end, then the report: two cores, at most one GPU job at a time (what a
    one-GPU workstation runs). Snakemake's output is kept in snakemake-local.log for the scheduling tests."""
    workdir = make_workdir(tmp_path_factory.mktemp("tiny"), tiny_config())
    result = run_snakemake(workdir, "--cores", "2", "--resources", "gpu=1", "--profile", "profiles/local")
    (workdir / "snakemake-local.log").write_text(result.stdout + result.stderr)
    run_snakemake(workdir, "--cores", "1", "--report", "results/default/report.html")
    return workdir


@pytest.fixture(scope="session")
def ladder_run(tmp_path_factory) -> Path:
    """The slow lane's local run of `ladder_config()`, the whole DAG: the base that the incremental-rerun
    tests change, the reference of the killed training and of the Slurm run. Snakemake's output is kept in
    snakemake-local.log."""
    workdir = make_workdir(tmp_path_factory.mktemp("ladder"), ladder_config())
    result = run_snakemake(workdir, "--cores", "2")  # no profile, as the incremental tests' dry runs
    (workdir / "snakemake-local.log").write_text(result.stdout + result.stderr)
    return workdir
