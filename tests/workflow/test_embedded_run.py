"""The embedded default, end to end, as `make run` runs it; then the values it produced are checked,
and adding a model is shown to schedule only that model's jobs and the aggregates."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from ineqbench.attribution.compute import load_attributions
from ineqbench.config import load_experiment
from ineqbench.io import read_json
from tests.conftest import make_workdir, run_snakemake
from tests.workflow.test_dag import job_counts

pytestmark = pytest.mark.workflow
DATASET = "synthetic_shapes"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, default_config):
    workdir = make_workdir(tmp_path_factory.mktemp("embedded"), default_config)
    run_snakemake(workdir, "--cores", "2", "--profile", "profiles/local")
    run_snakemake(workdir, "--cores", "1", "--report", "results/report.html")
    return workdir


def test_standard_models_are_accurate_and_adversarial_training_is_robust(run_dir):
    models = pd.read_csv(run_dir / f"results/{DATASET}/tables/models.csv")
    standard = models[models["training"] == "Std. trained"]
    assert (standard["clean_accuracy"] >= 0.85).all(), standard[["model", "clean_accuracy"]]
    for _, row in models[models["training"] != "Std. trained"].iterrows():
        eps = row["training"].split("= ")[1]
        base = standard[standard["arch"] == row["arch"]].iloc[0]
        assert row[f"pgd_acc@{eps}"] > base[f"pgd_acc@{eps}"], (row["model"], eps)
    assert "WARNING" not in (run_dir / f"results/{DATASET}/tables/models.md").read_text()


def test_table1_has_every_row_with_plausible_values(run_dir, default_config):
    selection = read_json(run_dir / f"results/{DATASET}/tables/selection.json")
    table = pd.read_csv(run_dir / f"results/{DATASET}/tables/gini_ig.csv")
    models = load_experiment(default_config).models_of(DATASET)
    for transform in default_config["inequality"]["transforms"]:
        for scope in ("global", "regional", "mass_in_mask"):
            rows = table[(table["transform"] == transform) & (table["scope"] == scope)]
            assert len(rows) == len(models), (transform, scope)  # one seed: one row per model
            assert set(rows["models"]) == {m.id for m in models}
    gini = table[table["scope"].isin(["global", "regional"])]
    assert gini["mean"].between(0.2, 1.0).all() and (gini["std"] > 0).all()
    assert (table["n_images"] == selection["n"]).all()
    assert 50 <= selection["n"] <= default_config["datasets"][DATASET]["n_images"]
    # regional blocks pool channels and space, so they are at least as unequal here as in the paper
    pivot = gini[gini["transform"] == "abs"].pivot_table(index=["arch", "training"], columns="scope", values="mean")
    assert (pivot["regional"] > 0.3).all()
    markdown = (run_dir / f"results/{DATASET}/tables/gini_ig.md").read_text()
    assert f"N = {selection['n']} images correctly classified by all {len(models)} models" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| Inequality"))
    assert header == "| Inequality | Model | Std. trained | ε = 2/255 | ε = 4/255 |"
    assert "\\begin{tabular}" in (run_dir / f"results/{DATASET}/tables/gini_ig.tex").read_text()


def test_cached_attributions_record_parameters_and_converge(run_dir, default_config):
    path = run_dir / f"results/{DATASET}/attributions/test_resnet-std-s0/ig.npz"
    maps, arrays, meta = load_attributions(path)
    pool = default_config["datasets"][DATASET]["pool_size"]
    assert maps.shape == (pool, 3, 32, 32) and np.isfinite(maps).all()
    assert meta["settings"]["method"] == {"id": "ig", "kind": "integrated_gradients", "params": {
        "n_steps": 20, "method": "riemann_right", "baseline": "gaussian", "baseline_sigma_normalised": 1.0}}
    assert np.isfinite(arrays["convergence_delta"]).all()


def test_figures_and_report_exist(run_dir, default_config):
    for method in default_config["attribution"]["methods"]:
        for name in (f"attribution_maps_{method}.png", f"gini_vs_eps_{method}.png"):
            assert (run_dir / f"results/{DATASET}/figures/{name}").stat().st_size > 10_000
    html = (run_dir / "results/report.html").read_text(errors="ignore")
    assert "Gini" in html


def test_adding_a_model_reruns_only_that_model_and_the_aggregates(run_dir, default_config):
    config = copy.deepcopy(default_config)
    config["models"] = [{"id": "extra-resnet", "dataset": DATASET, "arch": "test_resnet", "recipe": "resnet_std",
                         "seed": 1}]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        out = run_snakemake(run_dir, "-n", "--cores", "1").stdout
    finally:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(default_config, sort_keys=False))
    n_methods = len(default_config["attribution"]["methods"])
    assert job_counts(out) == {
        "train_model": 1, "predict": 1, "attribute": n_methods, "score_inequality": n_methods,
        "select_images": 1, "aggregate_models": 1, "aggregate_gini": n_methods,
        "plot_attribution_maps": n_methods, "all": 1, "total": 5 + 4 * n_methods,
    }
    for line in out.splitlines():
        if line.strip().startswith("wildcards:") and "model=" in line:
            assert "model=extra-resnet" in line, line


def test_changing_n_images_reruns_only_the_selection_and_aggregates(run_dir, default_config):
    config = copy.deepcopy(default_config)
    config["datasets"][DATASET]["n_images"] = 150
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        out = run_snakemake(run_dir, "-n", "--cores", "1").stdout
    finally:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(default_config, sort_keys=False))
    counts = job_counts(out)
    assert set(counts) == {"select_images", "aggregate_gini", "plot_attribution_maps", "all", "total"}, counts
