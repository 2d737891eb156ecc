"""Each config file is a whole experiment with its own results folder: running one never reads
another's settings and never writes, deletes or re-plans another's outputs. Checked beside the fast
lane's tiny run, with a second experiment on the same data set and the same model ids (as
config/embedded_full.yaml beside config.yaml)."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.helpers.workflow import TINY_CONFIG, make_workdir, planned_jobs, run_snakemake, tiny_config

pytestmark = pytest.mark.workflow


def test_another_experiment_plans_only_its_own_folder(tiny_run, tmp_path):
    other = copy.deepcopy(tiny_config())
    other["datasets"]["synthetic_shapes"]["n_images"] -= 1  # same data set and model ids, other settings
    config = tmp_path / "other.yaml"
    config.write_text(yaml.safe_dump(other))
    jobs = planned_jobs(run_snakemake(tiny_run, "-n", "--cores", "1", "--configfile", str(config)).stdout)
    outputs = {path for job in jobs for path in job.outputs}
    assert outputs and all(path.startswith("results/other/") for path in outputs), sorted(outputs)[:5]
    assert not any(path.startswith("results/default/") for job in jobs for path in job.inputs)
    assert "Nothing to be done" in run_snakemake(tiny_run, "-n", "--cores", "1").stdout


def test_a_config_file_is_not_layered_on_config_yaml(tmp_path):
    workdir = make_workdir(tmp_path, {"datasets": "not a mapping"})  # config.yaml itself is invalid
    result = run_snakemake(workdir, "-n", "--cores", "1", "--configfile", str(TINY_CONFIG))
    assert "results/tiny/synthetic_shapes/tables/gini_ig.md" in result.stdout


def test_a_yaml_syntax_error_in_config_yaml_names_its_line_and_column(tmp_path):
    workdir = make_workdir(tmp_path, {})
    (workdir / "config.yaml").write_text("seed: 0\ndatasets:\n  a: 1\n b: 2\n")
    result = run_snakemake(workdir, "-n", "--cores", "1", check=False)
    assert result.returncode != 0
    assert "ineqbench: invalid configuration: config.yaml, line 4, column 2: " in result.stderr, result.stderr[-2000:]
