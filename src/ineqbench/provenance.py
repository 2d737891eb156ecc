"""Provenance stamped on every output: which code, settings, seed, libraries and inputs made a number."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ineqbench.io import sha256_file, stable_hash

# The libraries whose version can move a number, recorded when the job imported them.
LIBRARIES = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "snakemake",
    "torch",
    "torchvision",
    "timm",
    "captum",
    "safetensors",
    "sklearn",
    "matplotlib",
)
_DISTRIBUTIONS = {"sklearn": "scikit-learn"}
# The running job's rule and code version (`ineqbench.job` sets them), so every output names its code.
_JOB: dict[str, str] = {}


def set_job(rule: str, code_version: str) -> None:
    _JOB.update(rule=rule, code_version=code_version)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def library_versions() -> dict[str, str]:
    """The version of each library the job has imported (and torch's CUDA and cuDNN where present)."""
    found = {name: _version(_DISTRIBUTIONS.get(name, name)) for name in LIBRARIES if name in sys.modules}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.version.cuda and torch.cuda.is_available():
            found["cuda"] = torch.version.cuda
            found["cudnn"] = str(torch.backends.cudnn.version())
    return found


@cache
def lock_hash() -> str | None:
    """sha256 of the committed lock the environment was installed from (requirements.lock); None when
    the package does not run from a checkout."""
    lock = Path(__file__).resolve().parents[2] / "requirements.lock"
    return sha256_file(lock) if lock.is_file() else None


@cache
def git_state() -> dict[str, Any] | None:
    """The checkout's commit and whether it has uncommitted changes; None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def provenance(settings: Any, *, seed: int | None = None, inputs: list[str | Path] = ()) -> dict:
    """`settings` is only the part of the config this output depends on, so that adding a model does
    not change the hash (and the provenance) of outputs that do not involve it."""
    return {
        "ineqbench_version": _version("ineqbench"),
        "rule": _JOB.get("rule"),
        "code_version": _JOB.get("code_version"),
        "git": git_state(),
        "lock_sha256": lock_hash(),
        "libraries": library_versions(),
        "python": platform.python_version(),
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),  # None outside Slurm
        "config_hash": stable_hash(settings),
        "settings": settings,
        "seed": seed,
        "input_sha256": {str(p): sha256_file(p) for p in inputs},
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
