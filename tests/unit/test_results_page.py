"""docs/results.md is generated from a run: it names the run and copies the run's own tables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ineqbench.results_page import results_page
from tests.helpers.workflow import ROOT


@pytest.fixture()
def dataset_folder(tmp_path) -> Path:
    """A workflow folder with the config `mine.yaml` (one data set, `shapes`); its results folder."""
    for name in ("rules", "workflow_scripts"):
        os.symlink(ROOT / name, tmp_path / name)
    (tmp_path / "mine.yaml").write_text("datasets: {shapes: {}}\n")
    return tmp_path / "results" / "mine" / "shapes"


def test_the_page_names_the_run_and_copies_its_tables(tmp_path, dataset_folder):
    tables = dataset_folder / "tables"
    tables.mkdir(parents=True)
    (tables / "gini_ig.md").write_text("| Inequality | Model |\n|---|---|\n| Global | r |\n")
    page = results_page("mine.yaml", Path(tmp_path))
    assert page.startswith("# Results of `mine.yaml` as measured")
    for field in ("- date: ", "- commit: ", "- lock: `requirements.lock`, sha256 ", "- machine: ", "- libraries: "):
        assert field in page
    assert "### `tables/gini_ig.md`\n\n| Inequality | Model |" in page
    assert "tables/models.md" not in page  # not made by this run: left out, not invented
    assert "not made by the current code" not in page.lower() and "made before code tracking" in page


def test_the_headline_figures_are_copied_from_the_run(tmp_path, dataset_folder):
    figures = dataset_folder / "figures"
    figures.mkdir(parents=True)
    (figures / "gini_vs_eps_ig.png").write_bytes(b"png of this run")
    docs = tmp_path / "docs"
    docs.mkdir()
    page = results_page("mine.yaml", Path(tmp_path), figures_dir=docs)
    assert (docs / "gini_vs_eps_ig.png").read_bytes() == b"png of this run"
    assert "(gini_vs_eps_ig.png)" in page and "noise_vs_k_ig.png" not in page


def test_the_claims_of_the_three_seed_run_open_the_page(tmp_path, dataset_folder):
    (dataset_folder / "tables").mkdir(parents=True)
    (dataset_folder / "tables" / "claims.md").write_text(
        "| Claim | Verdict |\n|---|---|\n| D1g | inconclusive (1 seed) |\n"
    )
    seeds = tmp_path / "results" / "three" / "shapes" / "tables"
    seeds.mkdir(parents=True)
    (seeds / "claims.md").write_text("| Claim | Verdict |\n|---|---|\n| D1g | holds |\n")
    (tmp_path / "three.yaml").write_text("datasets: {shapes: {}}\n")
    page = results_page("mine.yaml", Path(tmp_path), claims_config="three.yaml")
    assert page.index("## Claims with `three.yaml` (shapes)") < page.index("| D1g | holds |")
    assert page.index("| D1g | holds |") < page.index("| D1g | inconclusive (1 seed) |")
    # the page names the claims run and says which code made it, as it does for the main run
    assert (
        "--claims three.yaml > docs/results.md` from the run in `results/mine/` and the claims of `results/three/`"
        in page
    )
    claims = page[page.index("## Claims with") : page.index("| D1g | holds |")]
    assert "- code: " in claims and "made before code tracking" in claims
    (tmp_path / "not_run.yaml").write_text("datasets: {shapes: {}}\n")
    assert "Claims with" not in results_page("mine.yaml", Path(tmp_path), claims_config="not_run.yaml")
