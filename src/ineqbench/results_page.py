"""`python -m ineqbench.results_page [config file] --figures docs --claims config/claims.yaml > docs/results.md`:
the measured numbers of the docs, written from a finished run and never by hand. The page names the run
(date, commit, lock hash, machine, library versions), says whether every output was made by the current
code, and copies the run's own Markdown tables, each under its caption; with `--figures DIR` it also
copies the run's headline figures there (the README shows docs/gini_vs_eps_ig.png) and shows them on the
page; with `--claims CONFIG` the claims tables of that run (three seeds) open the page."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from ineqbench.code_status import flagged_lines
from ineqbench.config import DEFAULT_CONFIG, experiment_name
from ineqbench.config_file import read_config_file
from ineqbench.provenance import git_state, lock_hash

# the run's tables in reading order (each Markdown file carries its own title and N); one the run did not
# make is left out
TABLES = ("claims", "models", "gini_ig", "noise_ig", "occlusion_ig", "ablation", "transfer_ig", "bounds", "bounds_gini")
TABLES += ("family_l2", "family_sparsity", "family_cutout", "per_class_ig", "paper_comparison")
FIGURES = {"gini_vs_eps_ig": "Gini against training ε (IG)", "noise_vs_k_ig": "noise error rate against k (IG)"}
LIBRARIES = ("torch", "timm", "captum", "numpy", "pandas", "snakemake")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    system = f"{platform.system()} {platform.release()}"
    return f"{_cpu()}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _checkout() -> dict | None:
    """The commit, and whether the checkout has changes other than what this page writes (the page is
    written while this runs); None outside a checkout. Kept out of `provenance`, which every job imports."""
    state = git_state()
    if state is None or not state["dirty"]:
        return state
    ours = [":(exclude)docs/results.md", *(f":(exclude)docs/{name}.png" for name in FIGURES)]
    root = Path(__file__).resolve().parents[2]
    command = ["git", "status", "--porcelain", "--", ".", *ours]
    status = subprocess.run(command, cwd=root, capture_output=True, text=True)
    return {**state, "dirty": bool(status.stdout.strip())}


def _copy_figures(folder: Path, figures_dir: Path) -> list[str]:
    """Copy the headline figures of one data set's run into `figures_dir`; the page's lines showing them."""
    lines = []
    for name, caption in FIGURES.items():
        figure = folder / "figures" / f"{name}.png"
        if figure.exists():
            shutil.copyfile(figure, figures_dir / figure.name)
            lines += ["", f"![{caption}, from this run]({figure.name})"]
    return lines


def _code_status(results: Path, root: Path) -> str:
    """Which code made a run's outputs, as the page's `- code:` line says it."""
    flags = flagged_lines(results, root)
    return "; ".join(flags) if flags else "every output was made by the current code"


def claims_section(config_path: str, root: Path = Path(".")) -> list[str]:
    """The claims tables of another run (config/claims.yaml: three seeds), for the top of the page; none
    when that run has not been made."""
    config = read_config_file(root / config_path)
    results = root / "results" / experiment_name([config_path], root)
    code = _code_status(results, root)
    lines = []
    for dataset in config["datasets"]:
        path = results / dataset / "tables" / "claims.md"
        if path.exists():
            lines += ["", f"## Claims with `{config_path}` ({dataset})", "", f"- code: {code}", ""]
            lines += [path.read_text().strip()]
    return lines


def results_page(
    config_path: str, root: Path = Path("."), figures_dir: Path | None = None, claims_config: str | None = None
) -> str:
    """The page, as Markdown; with `figures_dir` (the folder the page goes to) the first data set's
    headline figures are copied there and shown; with `claims_config` that run's claims tables come
    first (a run of one seed decides no claim about training)."""
    config = read_config_file(root / config_path)
    experiment = experiment_name([config_path], root)
    results = root / "results" / experiment
    git = _checkout()
    commit = f"{git['commit'][:12]}{' (with uncommitted changes)' if git['dirty'] else ''}" if git else "no checkout"
    claims_option = f" --claims {claims_config}" if claims_config else ""
    claims_run = f" and the claims of `results/{experiment_name([claims_config], root)}/`" if claims_config else ""
    lines = [
        f"# Results of `{config_path}` as measured",
        "",
        f"Generated by `python -m ineqbench.results_page {config_path} --figures docs{claims_option}"
        f" > docs/results.md` from the run in `results/{experiment}/`{claims_run}; do not edit by hand. Rerun "
        "`make run` and this command to refresh it.",
        "",
        f"- date: {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {commit}",
        f"- lock: `requirements.lock`, sha256 {lock_hash() or 'absent'}",
        f"- machine: {machine()}",
        f"- libraries: {', '.join(f'{name} {_version(name)}' for name in LIBRARIES)}",
        f"- code: {_code_status(results, root)}",
    ]
    if claims_config is not None:
        lines += claims_section(claims_config, root)
    for n, dataset in enumerate(config["datasets"]):
        folder = results / dataset
        lines += ["", f"## {dataset}"]
        if figures_dir is not None and n == 0:
            lines += _copy_figures(folder, figures_dir)
        for table in TABLES:
            path = folder / "tables" / f"{table}.md"
            if path.exists():
                lines += ["", f"### `tables/{table}.md`", "", path.read_text().strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ineqbench.results_page", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG, help="the run's config file")
    parser.add_argument("--figures", type=Path, help="copy the headline figures here (the page's folder)")
    parser.add_argument("--claims", help="a run whose claims tables open the page (config/claims.yaml)")
    args = parser.parse_args(argv)
    print(results_page(args.config, figures_dir=args.figures, claims_config=args.claims), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
