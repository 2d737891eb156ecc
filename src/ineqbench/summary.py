"""`python -m ineqbench.summary config.yaml`: print where the tables, figures and report landed."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ineqbench.io import read_json


def summary_lines(config: dict, root: Path = Path(".")) -> list[str]:
    lines = ["", "ineqbench results:"]
    report = root / "results" / "report.html"
    lines.append(f"  report:  {report} ({'present' if report.exists() else 'missing'})")
    for dataset in config["datasets"]:
        base = root / "results" / dataset
        lines.append(f"  {dataset}:")
        lines.append(
            f"    tables:  {base / 'tables'}/ ({', '.join(sorted(p.name for p in (base / 'tables').glob('*.md')))})"
        )
        lines.append(f"    figures: {base / 'figures'}/ ({len(list((base / 'figures').glob('*.png')))} PNG files)")
        info = base / "tables" / "selection.json"
        if info.exists():
            lines.append(f"    selection: {read_json(info)['description']}")
    return lines


def main(argv: list[str]) -> int:
    config = yaml.safe_load(Path(argv[1] if len(argv) > 1 else "config.yaml").read_text())
    print("\n".join(summary_lines(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
