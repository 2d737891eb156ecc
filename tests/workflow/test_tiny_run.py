"""The fast lane's end-to-end run: config/tiny.yaml through every stage of the DAG, once per test session
(the `tiny_run` fixture), then checks that each stage's outputs are there and well formed, and how the
local profile scheduled the jobs. The numbers are not checked here: the tiny run trains for two epochs;
the slow lane checks the values on the embedded default."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import pytest

from tests.helpers.workflow import (
    DATASET,
    dry_run_with,
    gpu_rules,
    job_counts,
    make_workdir,
    planned_jobs,
    run_snakemake,
    scheduled_jobs,
    tiny_config,
    tiny_config_models,
)

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> str:
    """The dry run of the same configuration in an empty folder: every job the run had to do."""
    return run_snakemake(make_workdir(tmp_path_factory.mktemp("planned"), tiny_config()), "-n", "--cores", "2").stdout


def test_every_planned_job_ran_and_nothing_is_left_to_do(tiny_run, planned):
    ran = [(rule, wildcards) for rule, wildcards, _ in scheduled_jobs((tiny_run / "snakemake-local.log").read_text())]
    counts = job_counts(planned)
    assert len(ran) == counts.pop("total") and sorted({rule for rule, _ in ran}) == sorted(counts)
    assert "steps (100%) done" in (tiny_run / "snakemake-local.log").read_text()
    assert "Nothing to be done" in run_snakemake(tiny_run, "-n", "--cores", "1").stdout


def test_each_table_has_its_markdown_csv_and_rows(tiny_run):
    folder = tiny_run / "results" / "default" / DATASET / "tables"
    for csv in folder.glob("*.csv"):
        if csv.stem != "paper_comparison":  # the paper has no numbers of the synthetic data set
            assert len(pd.read_csv(csv)), csv.name
        if csv.stem != "bounds_images":
            assert (folder / f"{csv.stem}.md").exists(), csv.name
    gini = (folder / "gini_ig.md").read_text()
    n = len(tiny_config_models())  # two-epoch models agree on few images: the warning says how many
    assert re.search(rf"(N = \d+ images correctly classified by all|pool images are correct for all) {n} models", gini)
    assert {p.stem for p in folder.glob("family_*.md")} == {"family_l2", "family_sparsity"}
    assert (folder / "per_class_ig.md").exists()
    claims = pd.read_csv(folder / "claims.csv")
    assert {"D1g", "D3", "D6", "D9", "W1"} <= set(claims["claim"])  # the ladder, l2, pruning, the bound
    assert claims.loc[claims["claim"] == "D1g", "verdict"].iloc[0] == "inconclusive (1 seed)"


def test_report_has_a_section_per_stage(tiny_run):
    html = (tiny_run / "results" / "default" / "report.html").read_text(errors="ignore")
    for heading in (
        "Models",
        "Gini",
        "Figure 3: inductive noise",
        "Table 2: inductive occlusion",
        "Table 3: attribution methods",
        "Table 4: transferability",
        "Attribution bounds",
        "Claims",
        "Comparison families",
        "Per-class inequality",
    ):
        assert heading in html, heading


def job_intervals(snakemake_output: str) -> list[tuple[str, datetime, datetime]]:
    """(rule, start, end) of every job, from the timestamps Snakemake prints around each job."""
    starts, ends, stamp, pending_rule = {}, {}, None, None
    for line in snakemake_output.splitlines():
        if match := re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", line.strip()):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif match := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            pending_rule = match.group(1)
        elif (match := re.match(r"^jobid: (\d+)$", line.strip())) and pending_rule:
            starts[match.group(1)] = (pending_rule, stamp)
            pending_rule = None
        elif match := re.match(r"^Finished jobid: (\d+)", line.strip()):
            ends[match.group(1)] = stamp
    return [(rule, start, ends[job]) for job, (rule, start) in starts.items() if job in ends]


def test_locally_resources_gpu_1_keeps_gpu_jobs_apart_while_cpu_jobs_run_beside_them(tiny_run, planned):
    gpu_rule_names = gpu_rules(planned)  # what the rules declare
    assert {"train_model", "attribute", "attack_noise", "attack_occlusion"} <= gpu_rule_names
    intervals = job_intervals((tiny_run / "snakemake-local.log").read_text())
    gpu = [i for i in intervals if i[0] in gpu_rule_names]
    cpu = [i for i in intervals if i[0] not in gpu_rule_names and i[0] != "all"]
    counts = job_counts(planned)
    assert len(gpu) == sum(counts[rule] for rule in gpu_rule_names) and cpu

    def overlap(a, b):  # whole seconds: jobs that merely follow each other share a second, not more
        return a[1] < b[2] and b[1] < a[2]

    assert not [(a, b) for i, a in enumerate(gpu) for b in gpu[i + 1 :] if overlap(a, b)]
    assert any(overlap(a, b) for a in gpu for b in cpu)  # the second core was used


def test_new_evaluation_settings_reevaluate_and_never_retrain(tiny_run):
    config = tiny_config()
    config["datasets"][DATASET]["eval_epsilons"] = ["1/255"]
    planned = {job.rule for job in planned_jobs(dry_run_with(tiny_run, config))}
    assert "evaluate_model" in planned and "aggregate_models" in planned
    assert not {"train_model", "prepare_dataset", "predict", "attribute"} & planned
