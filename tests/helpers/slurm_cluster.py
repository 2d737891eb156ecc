"""The single-node Slurm of `tools/local-slurm` for the cluster tests: started when its daemons are
installed and not yet running, stopped afterwards if this process started it.

Without Slurm the cluster tests are skipped, unless INEQBENCH_REQUIRE_SLURM=1 (set by `.ci/run`, which
installs Slurm first), in which case they fail: CI must never pass by skipping them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.helpers.workflow import ROOT

SCRIPT = ROOT / "tools" / "local-slurm"


def _script(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), command], capture_output=True, text=True, env=env)


def _unavailable(reason: str):
    if os.environ.get("INEQBENCH_REQUIRE_SLURM") == "1":
        pytest.fail(f"INEQBENCH_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(f"{reason} (install and start it with: tools/local-slurm install && tools/local-slurm start)")


def _controller_answers(env: dict) -> bool:
    if not shutil.which("scontrol"):
        return False
    return "UP" in subprocess.run(["scontrol", "ping"], capture_output=True, text=True, env=env).stdout


def local_slurm():
    """Generator for a fixture: yields the environment (SLURM_CONF set) in which sbatch reaches the cluster.
    The state folder is the script's (INEQBENCH_SLURM_DIR, default /tmp/ineqbench-slurm), so a cluster
    already started by `.ci/run` or by hand is found and left running."""
    env = dict(os.environ)
    env["SLURM_CONF"] = _script("env", env).stdout.strip().split("=", 1)[-1]
    if _controller_answers(env):
        yield env
        return
    if not shutil.which("slurmctld"):
        _unavailable("Slurm is not installed")
    started = _script("start", env)
    if started.returncode != 0:
        _unavailable(f"the local Slurm did not start: {started.stderr[-2000:]}")
    try:
        yield env
    finally:
        _script("stop", env)
