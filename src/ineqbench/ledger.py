"""Which code made each output: one ledger entry per output, `results/<experiment>/.code/<path>.json`,
written by the job that made it (`ineqbench.job`), holding its rule and the code version
(`ineqbench.code_version`) it ran.

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

from ineqbench.io import read_json, write_json

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


def record(outputs: list[str], rule: str, version: str) -> None:
    """The job that made `outputs` ran `rule` at code `version`."""
    made = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    for output in outputs:
        write_json(entry_path(output), {"rule": rule, "made_by": version, "created_utc": made})


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
