"""Provenance stamped on every output: which code, settings, seed and inputs made a number."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from ineqbench.io import sha256_file, stable_hash


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def provenance(settings: Any, *, seed: int | None = None, inputs: list[str | Path] = ()) -> dict:
    """`settings` is only the part of the config this output depends on, so that adding a model does
    not change the hash (and the provenance) of outputs that do not involve it."""
    return {
        "ineqbench_version": _version("ineqbench"),
        "torch_version": _version("torch"),
        "timm_version": _version("timm"),
        "captum_version": _version("captum"),
        "python": platform.python_version(),
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),  # None outside Slurm
        "config_hash": stable_hash(settings),
        "settings": settings,
        "seed": seed,
        "input_sha256": {str(p): sha256_file(p) for p in inputs},
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
