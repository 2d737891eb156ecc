"""The shipped `slurm` profile on a real single-node Slurm (tools/local-slurm): `snakemake --cores 8
--profile slurm` from the workflow's root, as users type it, plus only what a test needs (the first
status check after 2 s instead of 40 s, squeue for job state because the test cluster keeps no
accounting, successful jobs' Slurm logs kept). GPU rules request a GPU from the cluster's stand-in GPUs
and run on the CPU. The tables must equal those of the slow lane's local run of the same config
(`ladder_run`: config/tiny.yaml's ε ladder, tests/helpers/workflow.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.slurm_cluster import local_slurm
from tests.helpers.workflow import (
    DATASET,
    MODELS,
    ROOT,
    assert_same_tables,
    ladder_config,
    make_workdir,
    scheduled_jobs,
    table_files,
    tables,
    tiny_config,
)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
GROUP_SUBMISSIONS = {*(f"group_model-{m}" for m in MODELS), f"group_tables-{DATASET}"}
GPU_SUBMISSIONS = {"rule_train_model", "rule_transfer_attacks", *(f"group_model-{m}" for m in MODELS)}
SLOW_FIRST_ATTEMPT = ROOT / "tests" / "helpers" / "slow_first_attempt"


@pytest.fixture(scope="module")
def cluster():
    yield from local_slurm()


def run_slurm_profile(workdir, cluster: dict, *extra: str, env: dict | None = None) -> str:
    """`snakemake --cores 8 --profile slurm` plus the test's three options; returns Snakemake's output."""
    # The profile's site settings through their environment variables: the test cluster's partition,
    # and one CPU per GPU so that jobs use as many threads as the local run (same floating-point sums).
    env = {
        **cluster,
        "INEQBENCH_SLURM_PARTITION": "main",
        "INEQBENCH_SLURM_CPUS_PER_GPU": "1",
        "PATH": f"{Path(sys.executable).parent}:{cluster['PATH']}",
        **(env or {}),
    }
    result = subprocess.run(
        [
            "snakemake",
            "--cores",
            "8",
            "--profile",
            "slurm",
            "--slurm-init-seconds-before-status-checks",
            "2",
            "--slurm-status-command",
            "squeue",
            "--slurm-keep-successful-logs",
            *extra,
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    (workdir / "snakemake-slurm.log").write_text(output)
    assert result.returncode == 0, output[-6000:]
    return output


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster):
    # the slow lane's ladder config: its tables are compared with the local run of it (`ladder_run`)
    workdir = make_workdir(tmp_path_factory.mktemp("slurm"), ladder_config())
    return workdir, submissions_of(run_slurm_profile(workdir, cluster)), cluster


def submissions_of(output: str) -> dict[str, tuple[str, str]]:
    """{Slurm job id: (rule_<rule> or group_<group id>, Slurm log)} from the plugin's messages."""
    submissions = {}
    for job_id, log_path in SUBMITTED.findall(output):
        folder = log_path.split("/slurm_logs/")[1].split("/")[0]
        # a group's folder is group_<group id>_<its rules>
        kind = next((g for g in GROUP_SUBMISSIONS if folder.startswith(f"{g}_")), folder)
        submissions[job_id] = (kind, log_path)
    return submissions


def _job_record(job_id: str, env: dict) -> str:
    return subprocess.run(["scontrol", "-d", "show", "job", job_id], capture_output=True, text=True, env=env).stdout


def test_one_submission_per_model_group_per_gpu_job_and_one_for_the_tables(slurm_run):
    _, submissions, _ = slurm_run
    kinds = Counter(kind for kind, _ in submissions.values())
    assert kinds == {
        "rule_prepare_dataset": 1,
        "rule_train_model": 2,
        "rule_transfer_attacks": 2,  # standard <-> l∞ 4/255, both ways
        f"group_model-{MODELS[0]}": 1,
        f"group_model-{MODELS[1]}": 1,
        "group_tables-synthetic_shapes": 1,
    }, kinds


def test_every_job_ran_in_slurm_with_the_resources_of_its_rule(slurm_run):
    _, submissions, env = slurm_run
    for job_id, (kind, log_path) in submissions.items():
        record = _job_record(job_id, env)
        assert "JobState=COMPLETED" in record, (kind, record)
        assert "Partition=main" in record, (kind, record)
        has_gpu = "JOB_GRES=gpu:1" in record
        assert has_gpu == (kind in GPU_SUBMISSIONS), (kind, record)
        assert "steps (100%) done" in open(log_path).read(), (kind, log_path)


def test_a_model_group_ran_that_models_whole_analysis(slurm_run, ladder_run):
    _, submissions, _ = slurm_run
    (log_path,) = [path for kind, path in submissions.values() if kind == f"group_model-{MODELS[1]}"]
    log = open(log_path).read()
    ran = Counter(re.findall(r"^rule (\w+):", log, flags=re.M))
    # every job of that model that the local run ran, but its training (a submission of its own)
    local = Counter(
        rule
        for rule, wildcards, _ in scheduled_jobs((ladder_run / "snakemake-local.log").read_text())
        if wildcards.get("model") == MODELS[1] and rule != "train_model"
    )
    assert local["predict"] == 1 and local["attribute"] == 2, local
    assert ran == local, ran


def test_tables_equal_the_local_runs_byte_for_byte(slurm_run, ladder_run):
    """Two runs of the tiny configuration from one lock, in two fresh copies of the workflow (here under
    two executors): every CSV, Markdown and LaTeX table has the same bytes."""
    workdir, _, _ = slurm_run
    assert_same_tables(tables(workdir), tables(ladder_run))  # a readable difference first
    ours, local = table_files(workdir), table_files(ladder_run)
    assert sorted(ours) == sorted(local) and len(local) > 20
    assert [name for name in local if ours[name] != local[name]] == []


def test_each_training_log_names_its_slurm_job_and_the_gpu_slurm_gave_it(slurm_run):
    workdir, submissions, _ = slurm_run
    trained = {
        Path(log_path).parent.name.removeprefix(f"{DATASET}_"): job_id
        for job_id, (kind, log_path) in submissions.items()
        if kind == "rule_train_model"
    }
    assert sorted(trained) == sorted(MODELS)
    for model, job_id in trained.items():
        log = (workdir / f"results/default/{DATASET}/logs/train_model/{model}.log").read_text()
        assert re.search(rf"device cpu; host \S+, Slurm job {job_id}, CUDA_VISIBLE_DEVICES=[01],", log), log[:2000]


EPOCHS = 40  # at 3 s each, 120 s of sleep alone: past the limit plus the 30 s of Slurm's limit check


def test_training_killed_at_its_time_limit_is_resubmitted_and_resumes_from_its_last_epoch(tmp_path, cluster):
    """One model, a 1-minute Slurm time limit, and a first attempt that cannot finish within it: it sleeps
    3 s after each of its 40 epochs (tests/helpers/slow_first_attempt). Slurm kills it (TIMEOUT), the
    profile's retries resubmit it, and the next attempt, at full speed, continues from the last saved
    epoch, so at most the epoch in progress is lost."""
    config = tiny_config(epochs=EPOCHS, families=False)
    config["model_grid"] = config["model_grid"][:1]
    config["bounds"]["methods"] = []  # `auto` needs a robust model to pair with; the test stops at training
    workdir = make_workdir(tmp_path, config)
    slow = {"PYTHONPATH": str(SLOW_FIRST_ATTEMPT), "INEQBENCH_TEST_EPOCH_DELAY_S": "3"}
    output = run_slurm_profile(
        workdir,
        cluster,
        "--set-resources",
        "train_model:runtime=1",
        "--retries",
        "3",
        "--until",
        "train_model",
        env=slow,
    )
    attempts = [
        (job_id, log)
        for job_id, (kind, log) in sorted(submissions_of(output).items(), key=lambda i: int(i[0]))
        if kind == "rule_train_model"
    ]
    assert len(attempts) >= 2 and f"SLURM-job '{attempts[0][0]}' failed, SLURM status is: 'TIMEOUT'" in output
    first, second = (open(log).read() for _, log in attempts[:2])
    assert "DUE TO TIME LIMIT" in first
    last_epoch = int(re.findall(rf"INFO ineqbench.models.training: epoch (\d+)/{EPOCHS}", first)[-1])
    resumed = int(re.search(rf"resuming \S+ from epoch (\d+)/{EPOCHS}", second).group(1))
    assert 1 <= last_epoch < EPOCHS and resumed in (last_epoch, last_epoch - 1), (last_epoch, resumed)
    assert "DUE TO TIME LIMIT" not in second  # resumed at full speed, it finished
    # training's own record (`--until train_model` stops before evaluation writes the model card)
    record = json.loads((workdir / f"results/default/{DATASET}/trained/{MODELS[0]}.json").read_text())
    assert len(record["history"]) == EPOCHS and record["resumed_from_epoch"] == resumed
