"""The reading of the rules files behind the Slurm profile: GPU need and time limit from a rule's own
resources, its submission from its outputs."""

from __future__ import annotations

import re

import pytest

from ineqbench.workflow_rules import read_rules, slurm_plan
from tests.helpers.workflow import ROOT

RULES = """
rule attack_thing:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
    output:
        "<results>/{dataset}/thing/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/attack_thing/{model}/{method}.log",
    resources:
        gpu=1,
        runtime=90,  # minutes
    script:
        "../workflow_scripts/attack_thing.py"


rule train_model:
    output:
        weights="<results>/{dataset}/models/{model}.safetensors",
    resources:
        gpu=1,
        runtime=720,
    script:
        "x.py"


rule aggregate_thing:
    input:
        rows=THINGS.input,
    output:
        csv="<results>/{dataset}/tables/thing_{method}.csv",
        md=report("<results>/{dataset}/tables/thing_{method}.md", caption="../report/x.rst",
                  category="Thing"),
    script:
        "y.py"


rule fetch_thing:
    output:
        "<results>/{dataset}/models/{model}.safetensors",
    localrule: True
    script:
        "z.py"


@stage_targets
def thing_targets(dataset):
    return []
"""


@pytest.fixture()
def rules_dir(tmp_path):
    (tmp_path / "thing.smk").write_text(RULES)
    return tmp_path


def test_gpu_runtime_and_submission_come_from_the_rule(rules_dir):
    rules = read_rules(rules_dir)
    assert sorted(rules) == ["aggregate_thing", "attack_thing", "fetch_thing", "train_model"]
    assert rules["attack_thing"].gpu and rules["attack_thing"].runtime == 90
    assert rules["attack_thing"].submission == "model"
    assert rules["train_model"].submission is None  # long and resumable: a submission of its own
    assert rules["aggregate_thing"].submission == "tables" and not rules["aggregate_thing"].gpu
    outputs = ("/{dataset}/tables/thing_{method}.csv", "/{dataset}/tables/thing_{method}.md")
    assert rules["aggregate_thing"].outputs == outputs  # below <results>
    assert rules["fetch_thing"].local and rules["fetch_thing"].submission is None
    plan = slurm_plan(rules_dir)
    assert plan.gpu == {"attack_thing": 90, "train_model": 720}
    assert plan.per_model == ["attack_thing"] and plan.tables == ["aggregate_thing"]


def test_a_gpu_rule_without_a_time_limit_is_an_error(rules_dir):
    (rules_dir / "thing.smk").write_text(RULES.replace("        runtime=90,  # minutes\n", ""))
    with pytest.raises(ValueError, match=r"without a runtime.*attack_thing"):
        slurm_plan(rules_dir)


def test_every_rule_tracks_its_code_and_every_script_runs_in_the_job_frame():
    """The code param is what makes an edit of the package rerun the rule; the job frame is what records
    which code made each output. A rule without either would silently keep stale outputs."""
    for path in sorted((ROOT / "rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n((?:(?:    .*)?\n)*)", path.read_text(), flags=re.M):
            if "    script:" in body:
                assert f'        code=code_of("{name}"),\n' in body, f"rule {name} ({path.name}) has no code param"
    for script in sorted((ROOT / "workflow_scripts").glob("*.py")):
        assert "with snakemake_job(sm):" in script.read_text(), script.name
