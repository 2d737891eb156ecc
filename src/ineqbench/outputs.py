"""`python -m ineqbench.outputs status|accept|adopt [config file]`: which outputs of an experiment were
made by code other than the current (status), record the current code as standing for them (accept), or
move results made before experiments had their own folders into the experiment's folder (adopt).
See `ineqbench.ledger` and docs/outputs.md.

`accept` then has Snakemake record every job as done (`--touch --forceall`: no job runs, every output's
record gets the current params), so that an output Snakemake has no record of (moved in by `adopt`)
is rerun by the next code change like any other. It does so only when nothing else is out of date."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from ineqbench.code_status import accept, adopt, flagged_lines
from ineqbench.config import DEFAULT_CONFIG, experiment_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ineqbench.outputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["status", "accept", "adopt"])
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG, help="the experiment's config file")
    args = parser.parse_args(argv)
    results = Path("results") / experiment_name([args.config])
    if args.command == "adopt":
        datasets = list(yaml.safe_load(Path(args.config).read_text())["datasets"])
        moved = adopt(datasets, results)
        print(f"moved {moved or 'nothing'} into {results}/; their outputs are flagged until `accept`")
    elif args.command == "accept":
        print(f"accepted {accept(results)} output(s) of {results}/ as made by the current code")
        return _record_in_snakemake(args.config)
    else:
        lines = flagged_lines(results)
        print("\n".join(lines) if lines else f"every output of {results}/ was made by the current code")
    return 0


def _snakemake(config: str, *args: str) -> subprocess.CompletedProcess:
    # the local profile's rerun triggers: the rules' code param, not the scripts' mtimes, says what is stale
    command = [sys.executable, "-m", "snakemake", "--cores", "1", "--profile", "profiles/local"]
    command += ["--configfile", config, *args]
    return subprocess.run(command, capture_output=True, text=True)


def _record_in_snakemake(config: str) -> int:
    dry = _snakemake(config, "-n")
    if dry.returncode != 0 or "Nothing to be done" not in dry.stdout + dry.stderr:
        print(
            "ineqbench: some jobs are out of date for another reason than the code (new settings, missing "
            f"or newer inputs); run the workflow first, then accept again:\n{dry.stdout}{dry.stderr}",
            file=sys.stderr,
        )
        return 1
    touched = _snakemake(config, "--touch", "--forceall")
    if touched.returncode != 0:
        print(f"ineqbench: snakemake --touch failed:\n{touched.stderr[-3000:]}", file=sys.stderr)
        return 1
    print("Snakemake's records now name the current code; the next code change reruns these outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
