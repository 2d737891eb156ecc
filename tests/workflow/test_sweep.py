"""The architecture sweep end to end (slow lane): config/sweep_embedded.yaml picks timm architectures with
one fnmatch pattern, trains each briefly on the embedded data and runs every stage. It fails unless the
pattern picks at least 4 architectures of at least 3 families and 20 images are correct for every one."""

from __future__ import annotations

import fnmatch
import json

import pandas as pd
import pytest
import timm

from tests.helpers.workflow import ROOT, load_config, make_workdir, run_snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
DATASET = "synthetic_shapes"


def test_a_pattern_sweeps_four_architectures_of_three_families_end_to_end(tmp_path):
    config = load_config(ROOT / "config" / "sweep_embedded.yaml")
    (row,) = config["model_grid"]
    workdir = make_workdir(tmp_path, config)
    run_snakemake(workdir, "--cores", "2", "--profile", "profiles/local")
    results = workdir / "results" / "default" / DATASET
    models = pd.read_csv(results / "tables" / "models.csv")
    archs = sorted(models["arch"])
    assert archs == sorted(timm.list_models(row["arch"])), archs  # every architecture the pattern picks
    assert len(archs) >= 4 and all(fnmatch.fnmatch(a, row["arch"]) for a in archs), archs
    families = {a.removeprefix("test_").removesuffix("net").rstrip("0123456789") for a in archs}
    assert len(families) >= 3, families
    selection = json.loads((results / "tables" / "selection.json").read_text())
    assert selection["n"] == 20, f"only {selection['available']} images are correct for every architecture"
    gini = pd.read_csv(results / "tables" / "gini_ig.csv")
    assert set(gini["models"]) == set(models["model"]) and (gini["n_images"] == 20).all()
    for table in ("noise_ig", "occlusion_ig", "bounds"):  # every analysis ran on every architecture
        frame = pd.read_csv(results / "tables" / f"{table}.csv")
        assert set(frame["arch"]) == set(archs), table
    transfer = pd.read_csv(results / "tables" / "transfer_ig.csv")
    pairs = {(p["source"], p["target"]) for p in config["attacks"]["transfer"]["pairs"]}
    assert set(zip(transfer["source"], transfer["target"])) == pairs  # across architectures
    assert "Nothing to be done" in run_snakemake(workdir, "-n", "--cores", "1").stdout
