"""The shipped profiles, read by Snakemake itself in dry runs (no cluster needed): the `slurm` link at
the root, the resources each rule requests, the site settings, the grouping."""

from __future__ import annotations

import re

import pytest

from ineqbench.config import load_experiment
from ineqbench.workflow_rules import slurm_plan
from tests.helpers.workflow import gpu_rules, make_workdir, resources_by_rule, run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, default_config):
    return make_workdir(tmp_path_factory.mktemp("profiles"), default_config)


@pytest.fixture(scope="module")
def rule_sets(workdir) -> tuple[set[str], set[str]]:
    """(GPU rules, CPU rules) as the rules declare them: Snakemake's own dry run, no profile."""
    out = run_snakemake(workdir, "-n", "--cores", "1").stdout
    gpu = gpu_rules(out)
    return gpu, set(resources_by_rule(out)) - gpu - {"all"}


def slurm_dry_run(workdir, monkeypatch, **site) -> str:
    for name in ("ACCOUNT", "PARTITION", "GPU_PARTITION", "CPUS_PER_GPU", "GPU_MEM_MB"):
        monkeypatch.delenv(f"INEQBENCH_SLURM_{name}", raising=False)
    for name, value in site.items():
        monkeypatch.setenv(f"INEQBENCH_SLURM_{name}", value)
    return run_snakemake(workdir, "-n", "--cores", "8", "--profile", "slurm").stdout


def test_gpu_rules_request_one_gpu_and_cpu_rules_none(workdir, monkeypatch, rule_sets):
    GPU_RULES, CPU_RULES = rule_sets
    assert {"train_model", "attribute", "attack_occlusion", "attack_random_occlusion", "bound_attribution"} <= GPU_RULES
    assert {"prepare_dataset", "score_inequality", "aggregate_gini", "aggregate_bounds"} <= CPU_RULES
    resources = resources_by_rule(slurm_dry_run(workdir, monkeypatch))
    assert GPU_RULES | CPU_RULES <= set(resources), sorted(resources)
    for rule in GPU_RULES:
        for line in resources[rule]:
            assert "gpu=1" in line and "cpus_per_gpu=4" in line and "mem_mb=32000" in line, (rule, line)
    for rule in CPU_RULES:
        for line in resources[rule]:
            assert "gpu" not in line and "runtime=60" in line and "mem_mb=8000" in line, (rule, line)
    assert not any(
        "slurm_partition" in line or "slurm_account" in line for lines in resources.values() for line in lines
    )  # unset: the cluster's defaults


def test_site_settings_come_from_one_place_each(workdir, monkeypatch, rule_sets):
    GPU_RULES, CPU_RULES = rule_sets
    out = slurm_dry_run(
        workdir, monkeypatch, ACCOUNT="proj42", PARTITION="cpuq", GPU_PARTITION="gpuq", CPUS_PER_GPU="8"
    )
    resources = resources_by_rule(out)
    for rule in GPU_RULES:
        for line in resources[rule]:
            assert "slurm_partition=gpuq" in line and "cpus_per_gpu=8" in line and "slurm_account=proj42" in line
    for rule in CPU_RULES:
        # score_inequality runs inside its model's GPU submission, so it goes where that goes
        partition = "gpuq" if rule == "score_inequality" else "cpuq"
        for line in resources[rule]:
            assert f"slurm_partition={partition}" in line and "slurm_account=proj42" in line, (rule, line)
    assert re.search(r"rule train_model:(?:.|\n)*?threads: 8", out)


def test_one_group_per_model_and_one_for_the_tables(workdir, monkeypatch, default_config):
    out = slurm_dry_run(workdir, monkeypatch)
    groups = re.findall(r"Group job (\S+) \(jobs", out)
    n_models = len(load_experiment(default_config).models)
    assert len(groups) == n_models + 1 == len(set(groups)), groups
    assert sum(g.startswith("model-") for g in groups) == n_models and "tables-synthetic_shapes" in groups


def test_local_profile_keeps_every_job_separate(workdir):
    out = run_snakemake(workdir, "-n", "--cores", "2", "--profile", "profiles/local").stdout
    assert "Group job" not in out


def test_the_profiles_reading_of_the_rules_agrees_with_snakemake(workdir, rule_sets):
    gpu, cpu = rule_sets
    plan = slurm_plan(workdir / "rules")
    assert gpu <= set(plan.gpu) and not cpu & set(plan.gpu)  # evaluate_model: GPU, but not in this DAG
    assert "score_inequality" in plan.per_model and "aggregate_gini" in plan.tables
