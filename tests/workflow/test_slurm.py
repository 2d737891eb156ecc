"""The shipped `slurm` profile on a real single-node Slurm (tools/local-slurm): `snakemake --cores 8
--profile slurm` from the workflow's root, as users type it, plus only what a test needs (the first
status check after 2 s instead of 40 s, squeue for job state because the test cluster keeps no
accounting, successful jobs' Slurm logs kept). GPU rules request a GPU from the cluster's stand-in GPUs
and run on the CPU. The tables must equal those of a local run of the same configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import make_workdir, run_snakemake
from tests.slurm_cluster import local_slurm
from tests.workflow.tiny import DATASET, MODELS, assert_same_tables, tables, tiny_config

pytestmark = pytest.mark.workflow
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
GROUP_SUBMISSIONS = {*(f"group_model-{m}" for m in MODELS), f"group_tables-{DATASET}"}
GPU_RULES = {"train_model", "predict", "attribute", "attack_noise", "attack_occlusion", "transfer_attacks",
             "bound_attribution"}
GPU_SUBMISSIONS = {"rule_train_model", "rule_transfer_attacks", *(f"group_model-{m}" for m in MODELS)}


@pytest.fixture(scope="module")
def cluster():
    yield from local_slurm()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The same configuration on this machine, two cores, at most one GPU job at a time."""
    workdir = make_workdir(tmp_path_factory.mktemp("local"), tiny_config())
    result = run_snakemake(workdir, "--cores", "2", "--resources", "gpu=1", "--profile", "profiles/local")
    (workdir / "snakemake-local.log").write_text(result.stdout + result.stderr)
    return workdir


def run_slurm_profile(workdir, cluster: dict, *extra: str) -> str:
    """`snakemake --cores 8 --profile slurm` plus the test's three options; returns Snakemake's output."""
    # The profile's site settings through their environment variables: the test cluster's partition,
    # and one CPU per GPU so that jobs use as many threads as the local run (same floating-point sums).
    env = {**cluster, "INEQBENCH_SLURM_PARTITION": "main", "INEQBENCH_SLURM_CPUS_PER_GPU": "1",
           "PATH": f"{Path(sys.executable).parent}:{cluster['PATH']}"}
    result = subprocess.run(
        ["snakemake", "--cores", "8", "--profile", "slurm", "--slurm-init-seconds-before-status-checks", "2",
         "--slurm-status-command", "squeue", "--slurm-keep-successful-logs", *extra],
        cwd=workdir, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    (workdir / "snakemake-slurm.log").write_text(output)
    assert result.returncode == 0, output[-6000:]
    return output


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster):
    workdir = make_workdir(tmp_path_factory.mktemp("slurm"), tiny_config())
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
    assert kinds == {"rule_prepare_dataset": 1, "rule_train_model": 2, "rule_transfer_attacks": 2,
                     f"group_model-{MODELS[0]}": 1, f"group_model-{MODELS[1]}": 1,
                     "group_tables-synthetic_shapes": 1}, kinds


def test_every_job_ran_in_slurm_with_the_resources_of_its_rule(slurm_run):
    _, submissions, env = slurm_run
    for job_id, (kind, log_path) in submissions.items():
        record = _job_record(job_id, env)
        assert "JobState=COMPLETED" in record, (kind, record)
        assert "Partition=main" in record, (kind, record)
        has_gpu = "JOB_GRES=gpu:1" in record
        assert has_gpu == (kind in GPU_SUBMISSIONS), (kind, record)
        assert "steps (100%) done" in open(log_path).read(), (kind, log_path)


def test_a_model_group_ran_that_models_whole_analysis(slurm_run):
    _, submissions, _ = slurm_run
    (log_path,) = [path for kind, path in submissions.values() if kind == f"group_model-{MODELS[1]}"]
    log = open(log_path).read()
    ran = Counter(re.findall(r"^rule (\w+):", log, flags=re.M))
    assert ran == {"predict": 1, "attribute": 2, "score_inequality": 2, "attack_noise": 2, "attack_occlusion": 2,
                   "bound_attribution": 1}, ran


def test_tables_equal_the_local_runs(slurm_run, local_run):
    workdir, _, _ = slurm_run
    assert_same_tables(tables(workdir), tables(local_run))


def test_each_training_log_names_its_slurm_job_and_the_gpu_slurm_gave_it(slurm_run):
    workdir, submissions, _ = slurm_run
    trained = {Path(log_path).parent.name.removeprefix(f"{DATASET}_"): job_id
               for job_id, (kind, log_path) in submissions.items() if kind == "rule_train_model"}
    assert sorted(trained) == sorted(MODELS)
    for model, job_id in trained.items():
        log = (workdir / f"results/{DATASET}/logs/train_model/{model}.log").read_text()
        assert re.search(rf"device cpu; host \S+, Slurm job {job_id}, CUDA_VISIBLE_DEVICES=[01],", log), log[:2000]


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


def test_locally_resources_gpu_1_keeps_gpu_jobs_apart_while_cpu_jobs_run_beside_them(local_run):
    intervals = job_intervals((local_run / "snakemake-local.log").read_text())
    gpu = [i for i in intervals if i[0] in GPU_RULES]
    cpu = [i for i in intervals if i[0] not in GPU_RULES and i[0] != "all"]
    # train, predict, 3 jobs per (model, method), transfer, bounds
    assert len(gpu) == 2 + 2 + 3 * 4 + 2 + 2 and cpu
    def overlap(a, b):  # whole seconds: jobs that merely follow each other share a second, not more
        return a[1] < b[2] and b[1] < a[2]
    assert not [(a, b) for i, a in enumerate(gpu) for b in gpu[i + 1:] if overlap(a, b)]
    assert any(overlap(a, b) for a in gpu for b in cpu)  # the second core was used


def test_training_killed_at_its_time_limit_is_resubmitted_and_resumes_from_its_last_epoch(tmp_path, cluster):
    """One model, 60 epochs of about a second each, a 1-minute Slurm time limit: Slurm kills the first
    attempt (TIMEOUT), the profile's retries resubmit it, and the next attempt continues from the last
    saved epoch, so at most the epoch in progress is lost."""
    config = tiny_config(epochs=60, n_train=2000)
    config["model_grid"] = config["model_grid"][:1]
    workdir = make_workdir(tmp_path, config)
    # more retries than the profile's 2: on a loaded machine an attempt may get through fewer epochs
    output = run_slurm_profile(workdir, cluster, "--set-resources", "train_model:runtime=1", "--retries", "5",
                               "--until", "train_model")
    attempts = [(job_id, log) for job_id, (kind, log) in sorted(submissions_of(output).items(), key=lambda i: int(i[0]))
                if kind == "rule_train_model"]
    assert len(attempts) >= 2 and f"SLURM-job '{attempts[0][0]}' failed, SLURM status is: 'TIMEOUT'" in output
    first, second = (open(log).read() for _, log in attempts[:2])
    assert "DUE TO TIME LIMIT" in first
    last_epoch = int(re.findall(r"INFO ineqbench.models.training: epoch (\d+)/60", first)[-1])
    resumed = int(re.search(r"resuming \S+ from epoch (\d+)/60", second).group(1))
    assert 1 <= last_epoch < 60 and resumed in (last_epoch, last_epoch - 1), (last_epoch, resumed)
    card = json.loads((workdir / f"results/{DATASET}/models/{MODELS[0]}.json").read_text())
    assert len(card["history"]) == 60 and card["resumed_from_epoch"] >= resumed
