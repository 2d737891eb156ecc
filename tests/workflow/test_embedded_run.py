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
from tests.helpers.workflow import (
    downstream,
    job_counts,
    make_workdir,
    reruns_after_config_change,
    run_snakemake,
    whole_dag,
)

# the run alone takes about 17 minutes on 2 cores, and the slow lane runs it beside the other slow tests
# (tools/slow-lane): more than the 30 minutes that pyproject.toml allows any other test
pytestmark = [pytest.mark.workflow, pytest.mark.slow, pytest.mark.timeout(3600)]
DATASET = "synthetic_shapes"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, default_config):
    workdir = make_workdir(tmp_path_factory.mktemp("embedded"), default_config)
    run_snakemake(workdir, "--cores", "2", "--profile", "profiles/local")
    run_snakemake(workdir, "--cores", "1", "--report", "results/default/report.html")
    return workdir


def test_standard_models_are_accurate_and_adversarial_training_is_robust(run_dir):
    models = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/models.csv")
    standard = models[models["training"] == "Std. trained"]
    assert (standard["clean_accuracy"] >= 0.85).all(), standard[["model", "clean_accuracy"]]
    for _, row in models[models["training"].str.startswith("ε = ")].iterrows():
        eps = row["training"].split("= ")[1].split(",")[0]
        base = standard[standard["arch"] == row["arch"]].iloc[0]
        assert row[f"pgd_linf@{eps}"] > base[f"pgd_linf@{eps}"], (row["model"], eps)
    assert "WARNING" not in (run_dir / f"results/default/{DATASET}/tables/models.md").read_text()


def test_table1_has_every_row_with_plausible_values(run_dir, default_config):
    selection = read_json(run_dir / f"results/default/{DATASET}/tables/selection.json")
    table = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/gini_ig.csv")
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
    markdown = (run_dir / f"results/default/{DATASET}/tables/gini_ig.md").read_text()
    assert f"N = {selection['n']} images correctly classified by all {len(models)} models" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| Inequality"))
    assert header == "| Inequality | Model | Std. trained | ε = 4/255 |"
    assert "\\begin{tabular}" in (run_dir / f"results/default/{DATASET}/tables/gini_ig.tex").read_text()


def test_cached_attributions_record_parameters_and_converge(run_dir, default_config):
    path = run_dir / f"results/default/{DATASET}/attributions/test_resnet-std-s0/ig.npz"
    maps, arrays, meta = load_attributions(path)
    pool = default_config["datasets"][DATASET]["pool_size"]
    assert maps.shape == (pool, 3, 32, 32) and np.isfinite(maps).all()
    assert meta["settings"]["method"] == {
        "id": "ig",
        "kind": "integrated_gradients",
        "params": {"n_steps": 20, "method": "riemann_right", "baseline": "gaussian", "baseline_sigma_normalised": 1.0},
    }
    assert np.isfinite(arrays["convergence_delta"]).all()


def test_figures_and_report_exist(run_dir, default_config):
    for method in default_config["attribution"]["methods"]:
        for name in (
            f"attribution_maps_{method}.png",
            f"gini_vs_eps_{method}.png",
            f"noise_vs_k_{method}.png",
            f"occlusion_examples_{method}.png",
        ):
            assert (run_dir / f"results/default/{DATASET}/figures/{name}").stat().st_size > 10_000
    html = (run_dir / "results/default/report.html").read_text(errors="ignore")
    for heading in (
        "Gini",
        "Figure 3: inductive noise",
        "Table 2: inductive occlusion",
        "Table 3: attribution methods",
        "Table 4: transferability",
        "Attribution bounds",
    ):
        assert heading in html, heading
    for name in ("bounds_scatter.png", "bounds_epsilon.png", "bounds_gini.png"):
        assert (run_dir / f"results/default/{DATASET}/figures/{name}").stat().st_size > 10_000


def test_bounds_cover_every_model_method_and_radius_and_the_surrogate_only_where_relus_are(run_dir, default_config):
    bounds = load_experiment(default_config).bounds
    models, methods = bounds.model_ids(DATASET), list(bounds.methods)
    radii = [(norm, eps) for norm, values in bounds.settings["epsilons"].items() for eps in values]
    summary = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/bounds.csv")
    assert len(summary) == len(models) * len(methods) * len(radii)
    assert set(summary["model"]) == set(models) and (summary["n_images"] == bounds.settings["n_images"]).all()
    assert (summary["mean_bound_first_order"] > 0).all()
    assert (summary["mean_bound_practical"] >= summary["mean_bound_first_order"]).all()
    assert (summary["mean_deviation"] > 0).all()  # the attacks moved every attribution
    for column in [c for c in summary if c.endswith("_rate")]:
        assert summary[column].between(0, 1).all(), column
    per_image = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/bounds_images.csv")
    assert len(per_image) == len(summary) * bounds.settings["n_images"]
    assert set(per_image["best_attack"]) <= set(bounds.settings["attacks"])
    for model in models:
        rows = pd.read_parquet(run_dir / f"results/default/{DATASET}/bounds/{model}/ig.parquet")
        relu = model.startswith("test_resnet")  # EfficientNet uses SiLU: smooth, no surrogate
        assert rows["surrogate"].eq(relu).all(), model
        if not relu:
            assert rows["real_deviation"].equals(rows["deviation"])
    relation = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/bounds_gini.csv")
    pooled = relation[(relation["model"] == "all") & (relation["quantity"] == "relative_sensitivity")]
    assert len(pooled) == len(methods) * len(radii)
    assert (pooled["n"] == len(models) * bounds.settings["n_images"]).all()
    assert pooled["rho"].between(-1, 1).all() and (pooled["ci_low"] <= pooled["ci_high"]).all()


def _attack_rows(run_dir, kind: str, method: str = "ig") -> pd.DataFrame:
    selection = set(pd.read_parquet(run_dir / f"results/default/{DATASET}/tables/selection.parquet")["pool_index"])
    frames = []
    for path in sorted((run_dir / f"results/default/{DATASET}/{kind}").glob(f"*/{method}.parquet")):
        frame = pd.read_parquet(path)
        frames.append(frame[frame["pool_index"].isin(selection)].assign(model=path.parent.name))
    return pd.concat(frames, ignore_index=True)


def test_noise_attack_guided_by_attribution_beats_random_noise(run_dir, default_config):
    noise = _attack_rows(run_dir, "noise")
    largest = noise[noise["k"] == noise["k"].max()]
    rates = largest.groupby(["model", "noise_type"])["fooled"].mean().unstack()
    # the ranking is what makes Type I an attack: at the same k it must beat noise at random places
    assert (rates["type1"] > rates["random"]).all(), rates
    assert (rates["type2"] > rates["type1"]).all(), rates
    table = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/noise_ig.csv")
    n_models = len(load_experiment(default_config).models)
    assert len(table) == 3 * 5 * n_models and table["mean"].between(0, 1).all()


def test_occlusion_success_at_the_smaller_budget_implies_success_at_the_larger(run_dir):
    # Both budgets enumerate n outer and r inner; the top-5 regions are the first 5 of the top-10 and
    # every (n <= 5, r <= 2) candidate is also a (n <= 10, r <= 4) candidate, so a stop found under the
    # small budget is reached, or preceded by another success, under the large one.
    occlusion = _attack_rows(run_dir, "occlusion").set_index(["model", "pool_index", "colour", "budget"])["success"]
    small = occlusion.xs("N=5, R=2", level="budget")
    large = occlusion.xs("N=10, R=4", level="budget")
    assert (~small | large.loc[small.index]).all()
    assert 0.2 < small.mean() < large.mean() <= 1


def test_ablation_and_transfer_tables(run_dir, default_config):
    ablation = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/ablation.csv")
    methods = default_config["attribution"]["methods"]
    assert set(ablation["method"]) == set(methods)
    occlusion = {"Occ-B", "Occ-G", "Occ-W"}
    random = {f"{c} random" for c in occlusion}  # the random-region control beside the guided occlusion
    assert set(ablation["column"]) == {"Gini", "Noise I", "Noise II", *occlusion, *random}
    assert len(ablation) == len(methods) * 4 * 9  # (std, largest ε) x 2 architectures, 9 columns
    transfer = pd.read_csv(run_dir / f"results/default/{DATASET}/tables/transfer_ig.csv")
    assert len(transfer.groupby(["source", "target"])) == 4
    assert (transfer["rebuild_mismatches"] == 0).all()  # every attacked image regenerated exactly
    assert transfer["transfer_share"].between(0, 1).all()
    markdown = (run_dir / f"results/default/{DATASET}/tables/transfer_ig.md").read_text()
    assert "→" in markdown and "differs from the recorded one: 0" in markdown


def test_adding_a_model_reruns_only_that_model_and_the_aggregates(run_dir, default_config):
    config = copy.deepcopy(default_config)
    config["models"] = [
        {"id": "extra-resnet", "dataset": DATASET, "arch": "test_resnet", "recipe": "resnet_std", "seed": 1}
    ]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        out = run_snakemake(run_dir, "-n", "--cores", "1").stdout
    finally:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(default_config, sort_keys=False))
    n_methods = len(default_config["attribution"]["methods"])
    # the new standard model has seed 1: no robust model of that seed, so no new transfer pair and no bound.
    # The expected reruns derive from the two whole DAGs, not from a list of rules.
    expected = reruns_after_config_change(whole_dag(run_dir, default_config), whole_dag(run_dir, config))
    assert job_counts(out) == {**expected, "total": sum(expected.values())}
    # per model: train, evaluate, predict, the random control; per method 9; the tables that read every
    # model: selection, models, ablation, transfer, paper comparison, the 3 family tables, per-class, claims;
    # and the `all` target
    assert sum(expected.values()) == 15 + 9 * n_methods and expected["attribute"] == n_methods
    assert not {"transfer_attacks", "bound_attribution", "aggregate_bounds", "prepare_dataset"} & set(expected)
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
    dag = whole_dag(run_dir, default_config)
    expected = downstream(dag, [job for job in dag if job.rule == "select_images"])
    counts = job_counts(out)
    assert set(counts) == set(expected) | {"total"}, counts
    assert not {"train_model", "predict", "attribute", "score_inequality", "attack_noise"} & set(expected)
