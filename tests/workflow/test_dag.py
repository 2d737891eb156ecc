"""Fast workflow checks: the default DAG builds, lint is clean, a bad config fails before any job."""

from __future__ import annotations

import copy
import re

import pytest

from ineqbench.attacks.settings import ATTACK_FAMILIES
from ineqbench.config import load_experiment
from tests.helpers.workflow import job_counts, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow


def test_default_dry_run_schedules_every_stage(tmp_path, default_config):
    out = run_snakemake(make_workdir(tmp_path, default_config), "-n", "--cores", "1").stdout
    counts = job_counts(out)
    exp = load_experiment(default_config)
    n_models = len(exp.models)
    n_methods = len(default_config["attribution"]["methods"])
    n_attacked = len(exp.attacks.methods)
    assert counts["prepare_dataset"] == 1
    assert counts["train_model"] == n_models
    assert counts["predict"] == n_models
    # a model of the ε ladder gets every method, a comparison family's model the table method only
    n_maps = sum(len(exp.methods_of(m)) for m in exp.models)
    assert n_maps == n_methods * sum(m.on_the_ladder for m in exp.models.values()) + sum(
        not m.on_the_ladder for m in exp.models.values()
    )
    assert counts["attribute"] == counts["score_inequality"] == n_maps
    assert counts["aggregate_gini"] == n_methods
    assert counts["plot_attribution_maps"] == n_methods
    for name in ATTACK_FAMILIES:  # a guided family: one job per model and method, else one per model
        assert counts[f"attack_{name}"] == (n_maps if ATTACK_FAMILIES.get(name).guided else n_models), name
    assert counts["attack_random_occlusion"] == n_models  # the control reads no attribution: one job per model
    assert counts["aggregate_noise"] == counts["aggregate_occlusion"] == counts["plot_occlusion_examples"] == n_attacked
    assert counts["aggregate_ablation"] == 1 and counts["aggregate_transfer"] == len(exp.attacks.transfer_methods)
    assert counts["compare_with_paper"] == 1
    n_pairs = len(exp.attacks.transfer_pairs["synthetic_shapes"])
    assert n_pairs == 4 and counts["transfer_attacks"] == n_pairs * len(exp.attacks.transfer_methods)
    n_bounded = len(exp.bounds.model_ids("synthetic_shapes"))
    assert n_bounded == 4 and counts["bound_attribution"] == n_bounded * len(exp.bounds.methods)
    assert counts["aggregate_bounds"] == 1
    assert counts["aggregate_family"] == 3 and counts["aggregate_per_class"] == counts["aggregate_claims"] == 1


def test_lint_reports_only_software_deployment_notices(tmp_path, default_config):
    result = run_snakemake(make_workdir(tmp_path, default_config), "--lint", check=False)
    notices = re.findall(r"^\s+\* (.+)$", result.stdout + result.stderr, flags=re.M)
    assert notices, "expected the conda/container notices (no software deployment here)"
    assert set(notices) == {"Specify a conda environment or container for each rule.:"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c["attribution"].update(methods=["ig", "integrated_grads"]), "integrated_grads"),
        (lambda c: c["model_grid"][0].update(arch="test_resnett"), "test_resnett"),
        (
            lambda c: c["datasets"]["synthetic_shapes"].update(builder="synthetic_shape"),
            "Did you mean 'synthetic_shapes'",
        ),
        (lambda c: c["attacks"]["occlusion"].update(colours=["black", "pink"]), "unknown occlusion colour 'pink'"),
        (lambda c: c["bounds"].update(methods=["smoothgrad"]), "'smoothgrad' is of kind 'smoothgrad', which has no"),
    ],
)
def test_invalid_config_fails_before_any_job(tmp_path, default_config, mutate, expected):
    config = copy.deepcopy(default_config)
    mutate(config)
    result = run_snakemake(make_workdir(tmp_path, config), "-n", "--cores", "1", check=False)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
