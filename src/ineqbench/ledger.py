"""Which code made each output: one ledger entry per output, `results/<experiment>/.code/<path>.json`,
written by the job that made it (`ineqbench.job`), holding its rule, the code version
(`ineqbench.code_version`) it ran, and the output's size and sha256, which every job that reads it checks
first (`check_intact`): a truncated or bit-flipped cache stops the job before it writes anything.

Each rule's `code` param (rules/common.smk) comes from here, so Snakemake reruns an output made by
other code than the current, and nothing else:

- an output made by the current code keeps the value Snakemake recorded;
- an output made before code tracking (no entry; e.g. moved in by `adopt`) is flagged, not rerun: its
  param is one Snakemake cannot represent, which leaves the recorded params as they were;
- `accept` records that the current code stands for an output made by other code (the edit changed no
  number, or the GPU-days are worth keeping): it is flagged, not rerun, until the code changes again.

`ineqbench.code_status` reads the ledger back (which outputs other code made); `python -m
ineqbench.outputs status|accept|adopt [config file]` lists, accepts or moves in outputs.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ineqbench.errors import CorruptFile
from ineqbench.io import read_json, sha256_file, write_json

LEDGER_DIR = ".code"
TAG = "ineqbench-code:"


class NotTracked:
    """The code param of an output made before code tracking: Snakemake cannot represent it, so it
    leaves the output's recorded params alone (no rerun)."""

    def __repr__(self) -> str:
        return "NotTracked()"


def entry_path(output: str | Path) -> Path:
    """results/<experiment>/<rest> -> results/<experiment>/.code/<rest>.json"""
    parts = Path(output).parts
    return Path(*parts[:2], LEDGER_DIR, *parts[2:-1], parts[-1] + ".json")


def read_entry(output: str | Path) -> dict | None:
    path = entry_path(output)
    return read_json(path) if path.exists() else None


def fingerprint(path: str | Path) -> dict:
    """Size and sha256 of a file; {} for a folder (its files are not outputs of their own)."""
    path = Path(path)
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)} if path.is_file() else {}


def record(outputs: list[str], rule: str, version: str) -> None:
    """The job that made `outputs` ran `rule` at code `version`."""
    made = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    for output in outputs:
        entry = {"rule": rule, "made_by": version, "created_utc": made, **fingerprint(output)}
        write_json(entry_path(output), entry)


def check_intact(path: str | Path) -> None:
    """Raise CorruptFile unless `path` has the size and sha256 recorded when it was written. Files
    without a recorded checksum (outside results/, or made before checksums) pass unchecked."""
    entry = read_entry(path)
    if not entry or "sha256" not in entry or not Path(path).is_file():
        return
    size = Path(path).stat().st_size
    if size != entry["bytes"]:
        raise CorruptFile(path, f"{size} bytes, {entry['bytes']} when rule {entry['rule']} wrote it")
    if sha256_file(path) != entry["sha256"]:
        raise CorruptFile(path, f"its sha256 differs from the one recorded when rule {entry['rule']} wrote it")


def code_param(version: str, output: str) -> str | NotTracked:
    """The value of a rule's `code` param for the job making `output`, the rule's code being `version`."""
    entry = read_entry(output)
    if not Path(output).exists():
        return TAG + version
    if entry is None:
        return NotTracked()
    made = entry["made_by"]
    if made == version:
        return TAG + version
    if entry.get("accepted") == version:
        return TAG + made if made else NotTracked()
    return TAG + version
