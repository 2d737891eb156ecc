"""Incremental reruns of the slow lane's complete ladder run (the `ladder_run` fixture, config
`ladder_config()`: the ε ladder of config/tiny.yaml): what a change to the config schedules, and what a
killed run loses.

1. Adding one model to the config schedules only that model's jobs and the aggregates.
2. Changing one attribution method's parameter (IG's `n_steps`) reruns its `attribute` jobs and everything
   downstream of them, and nothing of the other method, nor any training or prediction: Snakemake's
   default rerun triggers include params, and each job gets only its own method's settings.
3. A run killed (SIGKILL of the whole process group, as a scheduler does at a time limit) while it trains
   resumes from the last epoch's state and ends with the model an uninterrupted run makes. It runs up to
   the models table only (data, training, models.csv): every later table is a function of the weights,
   which are compared directly, and the rest of the DAG would double the file's runtime.

What Snakemake 9 does after such a kill, without `--rerun-incomplete`: it refuses to run, with a
LockException (the killed process left its lock in .snakemake/locks), and changes nothing; `--unlock` is
needed whatever the flags. It would not raise IncompleteFilesException: it flags an output as incomplete
only when the output exists, and train_model writes its outputs atomically at the end, so the killed job
has none on disk and is scheduled for its missing outputs, with or without `--rerun-incomplete` (which
the local profile sets anyway). The test runs the documented recovery, `--unlock` then
`--rerun-incomplete`, and checks that the job was scheduled as missing, not as incomplete.

The IG here is a custom id with the `ig` preset's settings: only a custom id's parameters can change.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ineqbench.io import read_json
from tests.helpers.workflow import (
    DATASET,
    LADDER_EPOCHS,
    LADDER_IG,
    LADDER_OTHER,
    MODELS,
    SNAKEMAKE,
    assert_same_tables,
    downstream,
    dry_run_with,
    job_counts,
    ladder_config,
    local_env,
    make_workdir,
    reruns_after_config_change,
    run_snakemake,
    scheduled_jobs,
    tables,
    whole_dag,
)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

IG, OTHER, EPOCHS = LADDER_IG, LADDER_OTHER, LADDER_EPOCHS
RESULTS = Path("results") / "default" / DATASET


def test_adding_a_model_runs_only_its_jobs_and_the_aggregates(ladder_run):
    config = ladder_config()
    new = "test_resnet-std-s1"
    config["models"] = [{"id": new, "dataset": DATASET, "arch": "test_resnet", "recipe": "resnet_std", "seed": 1}]
    out = dry_run_with(ladder_run, config)
    # per method: attribute, score_inequality, attack_noise, attack_occlusion of the new model, and the
    # aggregates gini, attribution maps, noise, occlusion, occlusion examples; its random-region
    # occlusion (one job, whatever the method). A standard model of seed 1 has no l∞ partner of that
    # seed, so no transfer pair is added (the transfer table still reruns: its model list grew) and the
    # bounds' `auto` choice (the standard and strongest l∞ model per architecture and seed) leaves it out.
    # The expected reruns derive from the two whole DAGs (new outputs, changed input sets, and what reads
    # them), not from a list of rules, so a new stage or attack family needs no edit here.
    expected = reruns_after_config_change(whole_dag(ladder_run, ladder_config()), whole_dag(ladder_run, config))
    assert job_counts(out) == {**expected, "total": sum(expected.values())}
    assert expected["train_model"] == expected["evaluate_model"] == expected["predict"] == 1
    assert expected["attack_random_occlusion"] == 1
    assert expected["attribute"] == expected["aggregate_gini"] == 2 and "bound_attribution" not in expected
    assert "transfer_attacks" not in expected and "prepare_dataset" not in expected
    jobs = scheduled_jobs(out)
    assert len(jobs) == sum(expected.values()) == 30
    per_model = [wildcards for _, wildcards, _ in jobs if "model" in wildcards]
    assert len(per_model) == 12 and all(w["model"] == new for w in per_model), per_model


def test_changing_an_attribution_parameter_reruns_exactly_what_depends_on_it(ladder_run):
    config = ladder_config()
    config["attribution"]["custom"][IG]["n_steps"] = 10
    out = dry_run_with(ladder_run, config)
    # attribute of IG for both models and everything that reads those maps: scores and both attacks
    # per model, the two transfer directions (standard <-> l∞ 4/255, IG only), the aggregates of IG, the
    # ablation (it reads every attacked method), the transfer table, the per-class table of IG (the table
    # method) and the claims table, and the paper comparison (it reads the ablation); the bounds of IG
    # (they compute the same IG themselves) and their tables.
    # Nothing of ixg, no training, prediction or image selection.
    dag = whole_dag(ladder_run, ladder_config())
    seeds = [job for job in dag if job.rule in ("attribute", "bound_attribution") and ("method", IG) in job.wildcards]
    expected = downstream(dag, seeds)  # the jobs that carry IG's parameters and everything that reads them
    assert expected["attribute"] == expected["transfer_attacks"] == expected["bound_attribution"] == 2
    assert not {"train_model", "predict", "select_images", "attack_random_occlusion"} & set(expected)
    assert job_counts(out) == {**expected, "total": sum(expected.values())} and sum(expected.values()) == 24
    jobs = scheduled_jobs(out)
    assert Counter(rule for rule, _, _ in jobs) == expected
    per_method = [(rule, wildcards) for rule, wildcards, _ in jobs if "method" in wildcards]
    assert len(per_method) == 19  # 12 per-model jobs, 7 aggregates of IG
    assert all(w["method"] == IG for _, w in per_method), [j for j in per_method if j[1]["method"] != IG]
    for rule, _, reason in jobs:
        if rule in ("attribute", "bound_attribution"):
            assert reason.startswith("Params have changed since last execution"), reason
            assert "'n_steps': 20" in reason and "'n_steps': 10" in reason, reason


def _mtimes(workdir: Path) -> dict[str, int]:
    return {str(p.relative_to(workdir)): p.stat().st_mtime_ns for p in (workdir / "results").rglob("*") if p.is_file()}


def _resume_states(resume_dir: Path) -> list[Path]:
    # dot files are atomic_path's temporaries, renamed into place once written
    return sorted(p for p in resume_dir.glob("*.pt") if not p.name.startswith(".")) if resume_dir.exists() else []


def _kill_during_training(workdir: Path, targets: list[str]) -> Path:
    """Start `snakemake --cores 1` (no profile, so no --rerun-incomplete), SIGKILL its whole process group
    as soon as the first model's per-epoch resume state appears; return that state's path."""
    resume_dir = workdir / RESULTS / "models" / "resume"
    with open(workdir / "killed_run.log", "w") as log:
        proc = subprocess.Popen(
            [*SNAKEMAKE, "--cores", "1", *targets],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=local_env(),
        )
    try:
        deadline = time.monotonic() + 300
        while not (states := _resume_states(resume_dir)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"no resume state appeared (snakemake exit {proc.returncode}):\n"
                    f"{(workdir / 'killed_run.log').read_text()[-4000:]}"
                )
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone if snakemake ended by itself
            os.killpg(proc.pid, signal.SIGKILL)  # start_new_session: the group id is the snakemake pid
        proc.wait()
    return states[0]


def test_killed_training_resumes_with_rerun_incomplete_and_loses_nothing(tmp_path, ladder_run):
    workdir = make_workdir(tmp_path, ladder_config())
    # prepare_dataset, train_model x 2, evaluate_model x 2, aggregate_models
    targets = [str(RESULTS / "tables" / "models.md")]
    state = _kill_during_training(workdir, targets)
    model = state.stem
    assert model in MODELS
    train_log = RESULTS / "logs" / "train_model" / f"{model}.log"
    # The kill came mid-training: the state is kept after epoch 1 and removed when the model is saved
    # (the remaining epochs take several seconds, the kill follows within 0.05 s).
    assert state.exists(), "the kill came too late: training had finished"
    assert not (workdir / RESULTS / "models" / f"{model}.safetensors").exists()
    before = _mtimes(workdir)
    assert {str(RESULTS / "data" / name) for name in ("train.npz", "test.npz", "dataset.json")} <= set(before)

    # (a) a plain rerun refuses: the killed process's lock is still there
    plain = run_snakemake(workdir, "--cores", "1", *targets, check=False)
    assert plain.returncode != 0
    assert "LockException" in plain.stderr and "--unlock" in plain.stderr, plain.stderr[-2000:]
    assert _mtimes(workdir) == before and state.exists()

    # (b) the documented recovery
    run_snakemake(workdir, "--unlock")
    resumed = run_snakemake(workdir, "--cores", "1", "--rerun-incomplete", *targets)
    train_jobs = {
        w["model"]: reason
        for rule, w, reason in scheduled_jobs(resumed.stdout + resumed.stderr)
        if rule == "train_model"
    }
    assert sorted(train_jobs) == sorted(MODELS)
    # its outputs were never on disk, so Snakemake saw them missing rather than incomplete (see the docstring)
    assert train_jobs[model].startswith("Missing output files"), train_jobs[model]
    match = re.search(rf"resuming {re.escape(model)} from epoch (\d+)/{EPOCHS} ", (workdir / train_log).read_text())
    assert match and 1 <= int(match.group(1)) < EPOCHS, (workdir / train_log).read_text()[-2000:]
    assert read_json(workdir / RESULTS / "models" / f"{model}.json")["resumed_from_epoch"] == int(match.group(1))
    assert not state.exists()
    after = _mtimes(workdir)
    assert not any(state.parent.iterdir())  # the state and any temporary that the kill left are removed
    resume_dir = str(state.parent.relative_to(workdir))
    kept = {
        path: mtime
        for path, mtime in before.items()  # all but the killed job's log and state
        if path != str(train_log) and not path.startswith(resume_dir + os.sep)
    }
    assert {path: after.get(path) for path in kept} == kept  # nothing complete before the kill was remade

    # the resumed training made the uninterrupted run's model: the same weights and the same models table
    ours = load_file(workdir / RESULTS / "models" / f"{model}.safetensors")
    reference = load_file(ladder_run / RESULTS / "models" / f"{model}.safetensors")
    assert ours.keys() == reference.keys()
    for name, tensor in reference.items():
        torch.testing.assert_close(ours[name], tensor, rtol=1e-6, atol=1e-7, msg=lambda m, n=name: f"{n}: {m}")
    history = [read_json(w / RESULTS / "models" / f"{model}.json")["history"] for w in (workdir, ladder_run)]
    assert [h["loss"] for h in history[0]] == pytest.approx([h["loss"] for h in history[1]], rel=1e-6)
    assert_same_tables(tables(workdir), {"models.csv": tables(ladder_run)["models.csv"]})
