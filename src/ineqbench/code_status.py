"""Which outputs of an experiment were made by code other than the current, read from the ledger
(`ineqbench.ledger`), for `python -m ineqbench.outputs`, the summary and the report; and the two changes
of state a user makes: accept outputs as current, adopt results from before experiment folders.
Not imported by the jobs, so editing it reruns nothing."""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ineqbench.code_version import code_version, script_of
from ineqbench.io import read_json, write_json
from ineqbench.ledger import LEDGER_DIR, entry_path, fingerprint, read_entry
from ineqbench.workflow_rules import read_rules

# not outputs: job logs and timings, training's resume state, temporary files being written
_NOT_OUTPUTS = {"logs", "benchmarks", "resume", LEDGER_DIR}


@dataclass(frozen=True)
class OutputState:
    path: Path
    rule: str
    state: str  # current | accepted | stale | untracked
    made_by: str | None
    current: str | None


def _output_patterns(rules_dir: Path) -> list[tuple[re.Pattern, str]]:
    patterns = []
    for rule in read_rules(rules_dir).values():
        for output in rule.outputs:
            regex = re.sub(r"\\\{(\w+)\\\}", "[^/]+", re.escape(output))
            patterns.append((re.compile(regex + "$"), rule.name))
    return patterns


def outputs_of(results: Path) -> list[Path]:
    return sorted(
        p
        for p in results.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not _NOT_OUTPUTS & set(p.relative_to(results).parts[:-1])
    )


def states(results: Path, workflow: Path = Path(".")) -> list[OutputState]:
    """The state of every output under `results` (results/<experiment>)."""
    patterns = _output_patterns(workflow / "rules")
    found = []
    for path in outputs_of(results):
        entry = read_entry(path)
        tail = "/" + path.relative_to(results).as_posix()
        rule = entry["rule"] if entry else next((r for regex, r in patterns if regex.match(tail)), None)
        if rule is None:  # no rule makes it (the report, a user's own file): not an output to track
            continue
        current = code_version(script_of(rule, workflow / "workflow_scripts"))
        made = entry["made_by"] if entry else None
        if entry is None:
            state = "untracked"
        elif made == current:
            state = "current"
        elif entry.get("accepted") == current:
            state = "accepted"
        else:
            state = "stale"
        found.append(OutputState(path, rule, state, made, current))
    return found


def flagged_lines(results: Path, workflow: Path = Path(".")) -> list[str]:
    """One line per kind of output not made by the current code, for the summary and the report."""
    counts: dict[str, int] = {}
    for s in states(results, workflow):
        if s.state != "current":
            counts[s.state] = counts.get(s.state, 0) + 1
    meaning = {
        "untracked": "made before code tracking (kept, not rerun)",
        "accepted": "made by older code, accepted as current",
        "stale": "made by older code; the next run remakes them",
    }
    return [f"{n} output(s) {meaning[state]}" for state, n in sorted(counts.items())]


def accept(results: Path, workflow: Path = Path(".")) -> int:
    """Record the current code as standing for every untracked or stale output; returns how many."""
    when = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    n = 0
    for s in states(results, workflow):
        if s.state in ("untracked", "stale"):
            entry = read_entry(s.path) or {"rule": s.rule, "made_by": None}
            # an untracked output gets its checksum now; a stale one keeps the one its writer recorded
            entry = {**fingerprint(s.path), **entry, "accepted": s.current, "accepted_utc": when}
            write_json(entry_path(s.path), entry)
            n += 1
    return n


def adopt(datasets: list[str], results: Path, root: Path = Path("results")) -> list[str]:
    """Move results/<dataset>/ (the layout before experiments had folders) into results/<experiment>/,
    keeping every file's time stamp, so Snakemake finds them up to date; returns the data sets moved."""
    moved = []
    for dataset in datasets:
        old, new = root / dataset, results / dataset
        if old.is_dir() and not new.exists():
            new.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(old), str(new))
            _split_trained_cards(new)
            moved.append(dataset)
    return moved


def _split_trained_cards(folder: Path) -> None:
    """Training used to write the model card itself; now it writes trained/{model}.json and evaluation
    writes the card. The old card holds everything the record does: it becomes the record, dated as the
    weights, so neither training nor evaluation reruns."""
    for card in sorted((folder / "models").glob("*.json")):
        weights, record = card.with_suffix(".safetensors"), folder / "trained" / card.name
        if weights.exists() and not record.exists() and "history" in read_json(card):
            write_json(record, read_json(card))
            os.utime(record, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns))
