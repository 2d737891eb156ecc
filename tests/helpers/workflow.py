"""Running the workflow from tests: a scratch copy of it with a given config, Snakemake in a subprocess,
the committed tiny configuration, and readers of Snakemake's output and of a run's tables."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
NO_SLURM = Path(__file__).parent / "no_slurm"


def local_env() -> dict[str, str]:
    """The environment of every Snakemake run but the Slurm test's: a `scontrol` that fails at once, so
    that the Slurm executor plugin does not wait 10 s for an absent controller at each start."""
    return {**os.environ, "PATH": f"{NO_SLURM}{os.pathsep}{os.environ['PATH']}"}


# The committed tiny experiment (config/tiny.yaml): what the fast lane runs end to end.
TINY_CONFIG = ROOT / "config" / "tiny.yaml"
DATASET = "synthetic_shapes"
MODELS = ["test_resnet-std-s0", "test_resnet-linf4-s0"]


def load_config(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def tiny_config_models() -> list[str]:
    """Every model id config/tiny.yaml defines (MODELS: its standard and l∞ pair)."""
    from ineqbench.config import load_experiment  # here: the GPU machine runs the unit tests without jsonschema

    return list(load_experiment(tiny_config(), name="tiny").models)


def tiny_config(epochs: int | None = None, n_train: int | None = None, *, families: bool = True) -> dict:
    """config/tiny.yaml, with more epochs or training images where a test needs them; `families=False`
    keeps only its ε ladder (MODELS), for the tests of scheduling and reruns, which need no family."""
    config = copy.deepcopy(load_config(TINY_CONFIG))
    if not families:
        config["model_grid"] = [
            r for r in config["model_grid"] if "variants" not in r and r.get("norm", "linf") == "linf"
        ]
    if n_train is not None:
        config["datasets"][DATASET]["options"]["n_train"] = n_train
    if epochs is not None:
        for recipe in config["recipes"].values():
            recipe["epochs"] = epochs
    return config


# The ε ladder of config/tiny.yaml, longer trained, with IG as a custom method: the slow lane's one local
# run (the `ladder_run` fixture) that the incremental-rerun tests change and the Slurm test repeats.
LADDER_IG = "ig_steps"  # a custom id with the `ig` preset's settings (20 Riemann steps, N(0, 1) baseline)
LADDER_OTHER = "ixg"
LADDER_EPOCHS = 4


def ladder_config() -> dict:
    """config/tiny.yaml's standard and l∞ 4/255 models (MODELS), 4 epochs on 1000 training images (an epoch
    takes about 1 s here, so a kill right after the first epoch's state lands with about 3 epochs left:
    tests/workflow/test_incremental.py), methods ixg and the custom IG, which is also the table, transfer
    and bounds method. Method ids are presets or `attribution.custom` entries, and a custom id may not
    shadow a preset, so only a custom id's parameters can be changed (the incremental tests change them)."""
    config = tiny_config(epochs=LADDER_EPOCHS, n_train=1000, families=False)
    config["attribution"]["custom"] = {LADDER_IG: {"kind": "integrated_gradients", "baseline": "gaussian"}}
    config["attribution"]["methods"] = [LADDER_OTHER, LADDER_IG]
    config["report"]["table_method"] = LADDER_IG
    config["bounds"]["methods"] = [LADDER_IG]
    return config


def make_workdir(tmp: Path, config: dict) -> Path:
    """A scratch copy of the workflow (Snakefile, rules, scripts, report captions, profiles and the
    root `slurm` profile link) with `config` as its config.yaml."""
    for name in ("Snakefile", "rules", "workflow_scripts", "report", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / name)
    (tmp / "slurm").symlink_to(os.readlink(ROOT / "slurm"))
    write_config(tmp, config)
    return tmp


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Snakemake in `workdir`; `env` adds variables (PYTHONPATH: run an edited copy of the package)."""
    result = subprocess.run(
        [*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, env={**local_env(), **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def dry_run_with(workdir: Path, config: dict, *args: str) -> str:
    """A dry run of `workdir` under `config`; the workdir's own config is put back afterwards."""
    path = workdir / "config.yaml"
    original = path.read_text()
    write_config(workdir, config)
    try:
        return run_snakemake(workdir, "-n", "--cores", "1", *args).stdout
    finally:
        path.write_text(original)


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    block = dry_run_output.split("Job stats:")[1]
    counts = {}
    for line in block.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def scheduled_jobs(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(rule, wildcards, reason) of every job block that Snakemake printed (a dry run or a real run)."""
    jobs: list[tuple[str, dict[str, str], str]] = []
    for line in output.splitlines():
        line = line.strip()
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            jobs.append((match.group(1), {}, ""))
        elif jobs and (match := re.match(r"^wildcards: (.+)$", line)):
            jobs[-1] = (jobs[-1][0], dict(kv.split("=", 1) for kv in match.group(1).split(", ")), jobs[-1][2])
        elif jobs and (match := re.match(r"^reason: (.+)$", line)):
            jobs[-1] = (jobs[-1][0], jobs[-1][1], match.group(1))
    return jobs


@dataclass(frozen=True)
class PlannedJob:
    rule: str
    wildcards: tuple[tuple[str, str], ...]
    inputs: frozenset[str]
    outputs: frozenset[str]


def planned_jobs(dry_run_output: str) -> list[PlannedJob]:
    """Every job block of a dry run with its wildcards, inputs and outputs."""
    jobs = []
    for block in re.split(r"\n\s*(?=(?:local)?rule \w+:)", dry_run_output):
        match = re.match(r"\s*(?:local)?rule (\w+):", block)
        if not match:
            continue
        fields = {k: v for k, v in re.findall(r"^\s*(input|output|wildcards): (.*)$", block, flags=re.M)}
        wildcards = dict(kv.split("=", 1) for kv in fields["wildcards"].split(", ")) if "wildcards" in fields else {}
        jobs.append(
            PlannedJob(
                match.group(1),
                tuple(sorted(wildcards.items())),
                frozenset(fields["input"].split(", ")) if "input" in fields else frozenset(),
                frozenset(fields["output"].split(", ")) if "output" in fields else frozenset(),
            )
        )
    return jobs


def whole_dag(workdir: Path, config: dict) -> list[PlannedJob]:
    """Every job of `config`'s DAG (a forced dry run), whatever the workdir already holds."""
    return planned_jobs(dry_run_with(workdir, config, "--forceall"))


def downstream(jobs: list[PlannedJob], seeds: list[PlannedJob]) -> Counter:
    """{rule: count} of `seeds` and of every job that reads, directly or not, an output of one of them:
    what must rerun when the seeds must, derived from the DAG's file edges alone."""
    chosen = set(seeds)
    changed = set().union(*(job.outputs for job in seeds)) if seeds else set()
    grew = True
    while grew:
        grew = False
        for job in jobs:
            if job not in chosen and job.inputs & changed:
                chosen.add(job)
                changed |= job.outputs
                grew = True
    return Counter(job.rule for job in chosen)


def reruns_after_config_change(before: list[PlannedJob], after: list[PlannedJob]) -> Counter:
    """The jobs a config change must run, from the two whole DAGs: the jobs with a new output or a changed
    input set, and everything downstream of them."""
    inputs_before = {job.outputs: job.inputs for job in before}
    seeds = [job for job in after if inputs_before.get(job.outputs) != job.inputs]
    return downstream(after, seeds)


def resources_by_rule(dry_run_output: str) -> dict[str, set[str]]:
    """{rule: the distinct `resources:` lines of its jobs} from a dry run's job listing."""
    found: dict[str, set[str]] = {}
    for block in re.split(r"\n\s*(?=(?:local)?rule \w+:)", dry_run_output):
        match = re.match(r"\s*(?:local)?rule (\w+):", block)
        resources = re.search(r"^\s*resources: (.*)$", block, flags=re.M)
        if match and resources:
            found.setdefault(match.group(1), set()).add(resources.group(1))
    return found


def gpu_rules(dry_run_output: str) -> set[str]:
    """The rules whose jobs request a GPU (`gpu=1` among their resources): what the rules declare."""
    return {
        rule
        for rule, lines in resources_by_rule(dry_run_output).items()
        if any(re.search(r"(^|, )gpu=1(,|$)", line) for line in lines)
    }


def tables(workdir: Path, dataset: str = DATASET) -> dict[str, pd.DataFrame]:
    """Every CSV table of the run, by file name."""
    folder = workdir / "results" / "default" / dataset / "tables"
    return {path.name: pd.read_csv(path) for path in sorted(folder.glob("*.csv"))}


def table_files(workdir: Path, dataset: str = DATASET) -> dict[str, bytes]:
    """The bytes of every CSV, Markdown and LaTeX table of a run: two runs of one lock repeat them exactly
    (run-dependent values live in the logs, timings, provenance and ledger, not in tables)."""
    folder = workdir / "results" / "default" / dataset / "tables"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".md", ".tex")}


def assert_same_tables(ours: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame]) -> None:
    assert sorted(ours) == sorted(reference)
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(ours[name], frame, check_exact=False, rtol=1e-6, atol=1e-9, obj=name)
