"""Where a workflow run's time went: job-seconds per rule from Snakemake's log of the run (a job runs
from the timestamp before its `rule NAME:` block to the one before `Finished jobid: N`), as a Markdown
table, with the run's wall time (first to last timestamp). Two logs side by side compare two runs of
the same config, for example two commits on one machine.

    .venv/bin/python benchmarks/job_seconds.py .snakemake/log/<run>.snakemake.log [<other run>.log]
"""

from __future__ import annotations

import argparse
import datetime
import re
from collections import Counter, defaultdict
from pathlib import Path

STAMP = re.compile(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]")
RULE = re.compile(r"(?:local)?rule (\w+):")
JOBID = re.compile(r"\s+jobid: (\d+)")
FINISHED = re.compile(r"Finished jobid: (\d+)")


def job_seconds(log: str) -> tuple[dict[str, float], Counter, float]:
    """(seconds per rule, jobs per rule, wall seconds) of one Snakemake log."""
    stamp = first = None
    opened: tuple[str, datetime.datetime] | None = None
    running: dict[str, tuple[str, datetime.datetime]] = {}
    seconds: dict[str, float] = defaultdict(float)
    jobs: Counter = Counter()
    for line in log.splitlines():
        if m := STAMP.match(line):
            stamp = datetime.datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif m := RULE.match(line):
            opened = (m.group(1), stamp)
        elif (m := JOBID.match(line)) and opened:
            running[m.group(1)], opened = opened, None
        elif (m := FINISHED.match(line)) and m.group(1) in running:
            rule, start = running.pop(m.group(1))
            seconds[rule] += (stamp - start).total_seconds()
            jobs[rule] += 1
    wall = (stamp - first).total_seconds() if first else 0.0
    return dict(seconds), jobs, wall


def table(runs: list[tuple[str, tuple[dict[str, float], Counter, float]]]) -> str:
    rules = sorted({r for _, (s, _, _) in runs for r in s}, key=lambda r: -max(s.get(r, 0) for _, (s, _, _) in runs))
    header = "| rule | " + " | ".join(f"{name}: job-s (jobs)" for name, _ in runs) + " |"
    lines = [header, "|---|" + "---|" * len(runs)]
    for rule in rules:
        cells = [f"{s[rule]:.0f} ({n[rule]})" if rule in s else "" for _, (s, n, _) in runs]
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    totals = [f"{sum(s.values()):.0f} ({sum(n.values())})" for _, (s, n, _) in runs]
    lines.append("| **all jobs** | " + " | ".join(totals) + " |")
    walls = [f"{w / 60:.1f} min" for _, (_, _, w) in runs]
    lines.append("| **wall time, first to last job** | " + " | ".join(walls) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", help="Snakemake logs (.snakemake/log/*.snakemake.log)")
    args = parser.parse_args(argv)
    print(table([(Path(p).parent.parent.parent.name or p, job_seconds(Path(p).read_text())) for p in args.logs]))


if __name__ == "__main__":
    main()
