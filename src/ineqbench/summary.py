"""`python -m ineqbench.summary [config file]`: print where an experiment's tables, figures and report
landed (the default experiment, `config.yaml`, without an argument)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ineqbench.code_status import flagged_lines
from ineqbench.config import DEFAULT_CONFIG, experiment_name
from ineqbench.io import read_json


def summary_lines(config: dict, experiment: str, root: Path = Path(".")) -> list[str]:
    results = root / "results" / experiment
    lines = ["", f"ineqbench results of experiment {experiment!r}:"]
    report = results / "report.html"
    lines.append(f"  report:  {report} ({'present' if report.exists() else 'missing'})")
    for dataset in config["datasets"]:
        base = results / dataset
        lines.append(f"  {dataset}:")
        lines.append(
            f"    tables:  {base / 'tables'}/ ({', '.join(sorted(p.name for p in (base / 'tables').glob('*.md')))})"
        )
        lines.append(f"    figures: {base / 'figures'}/ ({len(list((base / 'figures').glob('*.png')))} PNG files)")
        info = base / "tables" / "selection.json"
        if info.exists():
            lines.append(f"    selection: {read_json(info)['description']}")
    flags = flagged_lines(results, root) if results.exists() else []
    lines += [f"  NOT MADE BY THE CURRENT CODE: {flag}" for flag in flags]
    if flags:
        lines.append(
            "    (`python -m ineqbench.outputs status` lists them; docs/outputs.md, 'Which code made an output')"
        )
    return lines


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else DEFAULT_CONFIG
    config = yaml.safe_load(Path(path).read_text())
    print("\n".join(summary_lines(config, experiment_name([path]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
