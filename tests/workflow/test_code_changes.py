"""A change to the package code that a rule runs makes exactly the outputs depending on that code out of
date; outputs made before code tracking are flagged, not rerun, until accepted. On a copy of the fast
lane's tiny run, with an edited copy of the package first on PYTHONPATH."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ineqbench.code_version import closure, script_of
from tests.helpers.workflow import (
    DATASET,
    ROOT,
    downstream,
    planned_jobs,
    run_snakemake,
    tiny_config,
    whole_dag,
)

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run_copy(tiny_run, tmp_path_factory) -> Path:
    """A copy of the tiny run (results and Snakemake's records) that the tests may change."""
    copy = tmp_path_factory.mktemp("code") / "run"
    shutil.copytree(tiny_run, copy, symlinks=True)
    return copy


@pytest.fixture(scope="module")
def dag(run_copy):
    return whole_dag(run_copy, tiny_config())


def edited_package(tmp_path: Path, module: str, old: str, new: str) -> dict[str, str]:
    """A copy of the package with one edit; the environment that runs it."""
    shutil.copytree(ROOT / "src" / "ineqbench", tmp_path / "src" / "ineqbench")
    path = tmp_path / "src" / "ineqbench" / module
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    return {"PYTHONPATH": str(tmp_path / "src")}


def planned_rules(workdir: Path, env: dict[str, str] | None = None) -> dict[str, int]:
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--cores", "1", env=env).stdout)
    return {rule: sum(j.rule == rule for j in jobs) for rule in {j.rule for j in jobs}}


def reruns_after_editing(dag, module: str) -> Counter:
    """What an edit of `module` must rerun: the jobs of every rule whose code reaches it, and everything
    downstream of them."""
    rules = {job.rule for job in dag if job.rule != "all"}
    reaching = {rule for rule in rules if module in closure(script_of(rule, ROOT / "workflow_scripts"))}
    return downstream(dag, [job for job in dag if job.rule in reaching])


def test_editing_the_gini_reruns_scoring_and_what_reads_it(run_copy, dag, tmp_path):
    env = edited_package(tmp_path, "gini.py", "return ", "return 0.5 * ")
    expected = reruns_after_editing(dag, "ineqbench.gini")
    assert planned_rules(run_copy, env) == dict(expected)
    assert {"score_inequality", "aggregate_gini"} <= set(expected)
    assert not {"train_model", "evaluate_model", "attribute", "predict"} & set(expected)


def test_editing_the_occlusion_search_reruns_the_attacks_and_their_tables(run_copy, dag, tmp_path):
    env = edited_package(tmp_path, "attacks/occlusion.py", "def ", "def _unused():\n    return 1\n\n\ndef ")
    expected = reruns_after_editing(dag, "ineqbench.attacks.occlusion")
    assert planned_rules(run_copy, env) == dict(expected)
    assert {"attack_occlusion", "transfer_attacks", "aggregate_occlusion", "aggregate_transfer"} <= set(expected)
    assert not {"train_model", "evaluate_model", "attribute", "predict", "score_inequality"} & set(expected)


def test_a_docstring_edit_reruns_nothing(run_copy, tmp_path):
    env = edited_package(tmp_path, "gini.py", '"""', '"""Reworded.\n\n')
    assert planned_rules(run_copy, env) == {}


def test_outputs_made_before_code_tracking_are_flagged_then_accepted(run_copy, tmp_path):
    """As an older ineqbench left them: under results/<dataset>/, with no ledger and no Snakemake record
    of the new paths. `adopt` moves them in, nothing reruns, the summary flags them; `accept` makes them
    current, and from then on a code change reruns them."""
    results = run_copy / "results"
    shutil.move(results / "default" / DATASET, results / DATASET)
    shutil.rmtree(results / "default")
    shutil.rmtree(run_copy / ".snakemake" / "metadata")
    assert "moved ['synthetic_shapes']" in _python(run_copy, "-m", "ineqbench.outputs", "adopt", "config.yaml")
    assert planned_rules(run_copy) == {}
    summary = _python(run_copy, "-m", "ineqbench.summary")
    assert "NOT MADE BY THE CURRENT CODE" in summary and "made before code tracking" in summary
    assert "Snakemake's records now name the current code" in _python(run_copy, "-m", "ineqbench.outputs", "accept")
    assert "made by older code, accepted as current" in _python(run_copy, "-m", "ineqbench.outputs", "status")
    assert planned_rules(run_copy) == {}
    env = edited_package(tmp_path, "gini.py", "return ", "return 0.5 * ")
    assert "score_inequality" in planned_rules(run_copy, env)  # tracked again from here on
    assert "train_model" not in planned_rules(run_copy, env)


def _python(workdir: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout
