"""Aggregation of the attribution bounds: best attack per image, violations and tightness, the summary,
the Gini relation (Spearman with a bootstrap interval), figures and the job end to end, on hand-built
rows whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ineqbench.bounds.aggregate import aggregate_bounds, nonfinite_note
from ineqbench.bounds.figures import plot_bound_scatter, plot_bounds_vs_epsilon, plot_gini_vs_sensitivity
from ineqbench.bounds.relation import gini_deviation_relation, gini_relation_wide, spearman_interval
from ineqbench.bounds.tables import best_per_image, bound_summary, bounds_wide, violation_notes
from ineqbench.models.spec import ModelSpec

ATTACKS = ["pgd_cross_entropy", "pgd_attribution_l2distance", "sensitivity_max"]
STD, ROBUST = "net-std-s0", "net-linf8-s0"
SPECS = {
    STD: ModelSpec(id=STD, dataset="d", arch="net"),
    ROBUST: ModelSpec(id=ROBUST, dataset="d", arch="net", epsilon=8 / 255),
}
EPSILONS = {"l2": [0.25, 0.5], "linf": [2 / 255, 4 / 255]}


def image_rows(
    model: str,
    method: str,
    pool_index: int,
    norm: str,
    epsilon: float,
    deviations: list[float],
    *,
    cosines: list[float] | None = None,
    real: list[float] | None = None,
    bound: float = 1.0,
    practical: float | None = None,
    cosine_bound: float = -1.0,
    gini: float = 0.5,
    attribution_norm: float = 2.0,
    attacks: list[str] = ATTACKS,
) -> list[dict]:
    """One row per attack for one (model, method, image, norm, ε), in the input contract's columns."""
    cosines = cosines or [0.9] * len(deviations)
    real = real or deviations
    return [
        {
            "pool_index": pool_index,
            "label": 1,
            "prediction": 1,
            "correct": True,
            "model": model,
            "method": method,
            "norm": norm,
            "epsilon": epsilon,
            "attack": attack,
            "deviation": d,
            "cosine": c,
            "real_deviation": r,
            "real_cosine": c,
            "iterations_counted": 10,
            "iterations_total": 10,
            "gini_global": gini,
            "gini_regional": gini / 2,
            "attribution_norm": attribution_norm,
            "sigma_max": bound / epsilon,
            "sigma_max_practical": (practical or 2 * bound) / epsilon,
            "sigma_iterations": 50,
            "sigma_converged": pool_index % 2 == 0,
            "sigma_method": "power",
            "column_norm_sum": np.nan,
            "bound_first_order": bound,
            "bound_practical": practical if practical is not None else 2 * bound,
            "cosine_bound_first_order": cosine_bound,
            "cosine_bound_practical": -1.0,
            "surrogate": True,
            "surrogate_beta": 10.0,
            "dimension": 64,
        }
        for attack, d, c, r in zip(attacks, deviations, cosines, real)
    ]


def grid(n_images: int = 4) -> pd.DataFrame:
    """Two methods × two models × two norms × two ε × n images. Image i's best deviation is
    0.1 (i + 1) × scale against a first-order bound of 0.25 × scale (practical 0.5 × scale), so images
    2, 3 (and later) beat B₁ and none beats B_p; Gini rises with i and so does the relative sensitivity."""
    rows = []
    for method in ("integrated_gradients", "saliency"):
        for model in (STD, ROBUST):
            for norm, epsilons in EPSILONS.items():
                for epsilon in epsilons:
                    scale = epsilon * (2 if model == STD else 1)
                    for i in range(n_images):
                        best = 0.1 * (i + 1) * scale
                        rows += image_rows(
                            model,
                            method,
                            i,
                            norm,
                            epsilon,
                            [best / 2, best, best / 4],
                            bound=0.25 * scale,
                            practical=0.5 * scale,
                            gini=0.3 + 0.1 * i,
                        )
    return pd.DataFrame(rows)


def test_best_attack_tightness_and_each_violation_flag_on_one_image():
    rows = pd.DataFrame(
        image_rows(
            STD,
            "ig",
            0,
            "l2",
            0.5,
            [1.0, 2.0, 2.0],
            cosines=[0.9, 0.5, 0.95],
            real=[5.0, 1.0, 2.0],
            bound=1.5,
            practical=3.0,
            cosine_bound=0.6,
        )
    )
    best = best_per_image(rows)
    assert len(best) == 1
    row = best.iloc[0]
    assert row["deviation"] == 2.0 and row["best_attack"] == "pgd_attribution_l2distance"  # tie: first in row order
    assert row["cosine"] == 0.5 and row["best_cosine_attack"] == "pgd_attribution_l2distance"
    assert row["real_deviation"] == 5.0 and row["sensitivity_deviation"] == 2.0
    assert row["tightness_first_order"] == pytest.approx(2 / 1.5)
    assert row["tightness_practical"] == pytest.approx(2 / 3)
    assert row["relative_sensitivity"] == pytest.approx(2.0 / (0.5 * 2.0))
    assert row["normalised_bound"] == pytest.approx(1.5 / (0.5 * 2.0))
    assert row["violates_first_order"] and not row["violates_practical"]
    assert row["real_violates_first_order"] and row["real_violates_practical"]
    assert row["cosine_violates_first_order"] and not row["cosine_violates_practical"]
    assert row["sensitivity_violates_first_order"]


def test_a_bound_met_with_equality_holds_and_missing_values_are_not_counted():
    rows = pd.DataFrame(
        image_rows(STD, "ig", 0, "l2", 0.5, [1.0, 0.5], attacks=ATTACKS[:2], bound=1.0, attribution_norm=0.0)
    )
    row = best_per_image(rows).iloc[0]
    assert not row["violates_first_order"]  # D* == B₁
    assert np.isnan(row["sensitivity_deviation"]) and pd.isna(row["sensitivity_violates_first_order"])
    assert np.isnan(row["relative_sensitivity"])  # ‖A‖ = 0: no scale


def test_an_image_no_attack_could_move_with_the_label_kept_has_no_best_attack_and_no_flag():
    rows = pd.DataFrame(
        image_rows(STD, "ig", 0, "l2", 0.5, [np.nan, np.nan], cosines=[np.nan, np.nan], attacks=ATTACKS[:2])
    )
    row = best_per_image(rows).iloc[0]
    assert np.isnan(row["deviation"]) and pd.isna(row["best_attack"]) and pd.isna(row["best_cosine_attack"])
    assert pd.isna(row["violates_first_order"]) and pd.isna(row["cosine_violates_first_order"])


def test_violations_are_counted_exactly_where_the_attack_beats_the_bound():
    best = best_per_image(grid())
    assert len(best) == 2 * 2 * 2 * 2 * 4
    expected = best["deviation"] > best["bound_first_order"]
    assert (best["violates_first_order"].astype(bool) == expected).all()
    assert expected.sum() == 2 * 2 * 2 * 2 * 2  # images 2 and 3 of every (method, model, norm, ε)
    assert not best["violates_practical"].any()
    assert (best["best_attack"] == "pgd_attribution_l2distance").all()

    summary = bound_summary(best, SPECS)
    assert len(summary) == 2 * 2 * 2 * 2
    assert list(summary["training"][:2]) == ["Std. trained", "ε = 8/255"]  # standard first
    row = summary.iloc[0]
    assert row["n_images"] == 4 and row["violates_first_order_count"] == 2
    assert row["violates_first_order_rate"] == 0.5 and row["violates_practical_rate"] == 0.0
    assert row["sensitivity_violates_first_order_rate"] == 0.0  # sensitivity_max gave D*/4
    assert row["most_frequent_best_attack"] == "pgd_attribution_l2distance"
    tightness = np.array([0.4, 0.8, 1.2, 1.6])  # 0.1 (i + 1) / 0.25
    assert row["tightness_first_order_mean"] == pytest.approx(tightness.mean())
    assert row["tightness_first_order_median"] == pytest.approx(np.median(tightness))
    assert row["tightness_first_order_max"] == pytest.approx(1.6)
    assert row["tightness_practical_max"] == pytest.approx(0.8)
    assert row["sigma_converged_fraction"] == 0.5 and row["sigma_converged_n"] == 4
    wide = bounds_wide(summary)
    assert wide.iloc[0]["σ converged"] == "50% of 4"
    assert wide.iloc[0]["D* > B₁"] == "50.0% (2/4)" and wide.iloc[0]["D* > B_p"] == "0.0% (0/4)"
    notes = violation_notes(summary)
    assert "Violation rates" in notes and "D* > B₁: 8/16 (50.0%)" in notes


def test_spearman_matches_scipy_and_a_monotone_relation_gives_one_inside_its_interval():
    x = np.linspace(0.2, 0.9, 12)
    fit = spearman_interval(x, np.exp(3 * x), np.arange(12), n_boot=200, seed=0)
    assert fit["rho"] == pytest.approx(1.0) and fit["ci_low"] <= 1.0 <= fit["ci_high"]
    assert fit["p_value"] == pytest.approx(stats.spearmanr(x, np.exp(3 * x)).pvalue)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=40), rng.normal(size=40)
    y = y + x
    fit = spearman_interval(x, y, np.arange(40), n_boot=500, seed=0)
    reference = stats.spearmanr(x, y)
    assert fit["rho"] == pytest.approx(reference.statistic) and fit["p_value"] == pytest.approx(reference.pvalue)
    assert fit["ci_low"] < fit["rho"] < fit["ci_high"] and fit["n_boot_used"] == 500
    again = spearman_interval(x, y, np.arange(40), n_boot=500, seed=0)
    assert (again["ci_low"], again["ci_high"]) == (fit["ci_low"], fit["ci_high"])  # seeded


def test_spearman_is_nan_with_a_note_for_constant_ranks_or_too_few_points():
    constant = spearman_interval(np.full(5, 0.4), np.arange(5.0), np.arange(5), n_boot=50, seed=0)
    assert np.isnan(constant["rho"]) and "constant" in constant["note"]
    few = spearman_interval(np.array([0.1, 0.2]), np.array([1.0, 2.0]), np.arange(2), n_boot=50, seed=0)
    assert np.isnan(few["rho"]) and few["note"] == "n < 3"


def test_bootstrap_resamples_whole_images_when_several_rows_share_one():
    # pooled over ε: image i has two rows; uneven row counts take the slower path, same answer shape
    x = np.repeat(np.linspace(0, 1, 6), 2)
    y = x + np.tile([0.0, 0.01], 6)
    fit = spearman_interval(x, y, np.repeat(np.arange(6), 2), n_boot=100, seed=0)
    assert fit["n"] == 12 and fit["n_images"] == 6 and fit["ci_high"] <= 1.0
    uneven = spearman_interval(x[:-1], y[:-1], np.repeat(np.arange(6), 2)[:-1], n_boot=100, seed=0)
    assert uneven["n_images"] == 6 and uneven["n_boot_used"] > 0


def test_gini_relation_per_epsilon_pooled_and_per_model():
    relation = gini_deviation_relation(best_per_image(grid()), n_boot=100, seed=0)
    # 2 quantities × 2 methods × 2 norms × (2 models + pooled) × (2 ε + all)
    assert len(relation) == 2 * 2 * 2 * 3 * 3
    pooled = relation[
        (relation["model"] == "all")
        & (relation["epsilon_label"] == "all")
        & (relation["quantity"] == "relative_sensitivity")
    ]
    assert len(pooled) == 4 and (pooled["n"] == 2 * 2 * 4).all() and (pooled["n_images"] == 8).all()
    one = relation[
        (relation["model"] == STD)
        & (relation["epsilon_label"] != "all")
        & (relation["quantity"] == "relative_sensitivity")
    ]
    assert np.allclose(one["rho"], 1.0)  # relative sensitivity 0.05 (i + 1) rises with Gini within a model
    bound = relation[(relation["model"] == STD) & (relation["quantity"] == "normalised_bound")]
    assert bound["rho"].isna().all() and (bound["note"] == "the deviation measure is constant").all()
    wide = gini_relation_wide(relation)
    assert "ρ(Gini, D* / (ε ‖A‖))" in wide.columns and len(wide) == 2 * 2 * 3 * 3


def test_empty_input_gives_tables_that_say_so_and_figures_with_no_data(tmp_path):
    best = best_per_image(pd.DataFrame())
    summary = bound_summary(best, SPECS)
    relation = gini_deviation_relation(best, n_boot=10, seed=0)
    assert best.empty and summary.empty and relation.empty
    assert "no data" in bounds_wide(summary).iloc[0, 0] and "no data" in gini_relation_wide(relation).iloc[0, 0]
    assert "No violation rate" in violation_notes(summary)
    for plot, args in (
        (plot_bound_scatter, (best, SPECS)),
        (plot_bounds_vs_epsilon, (best, SPECS)),
        (plot_gini_vs_sensitivity, (best, relation, SPECS)),
    ):
        path = tmp_path / f"{plot.__name__}.png"
        plot(*args, "empty", str(path))
        assert path.stat().st_size > 0


def write_cards(root: Path) -> dict[str, str]:
    paths = {}
    for model, spec in SPECS.items():
        path = root / f"{model}.json"
        path.write_text(json.dumps({"spec": spec.as_dict(), "clean_accuracy": 0.9, "robust_accuracy": {}}))
        paths[model] = str(path)
    return paths


def outputs(root: Path) -> dict[str, str]:
    names = {
        "csv_path": "bounds.csv",
        "md_path": "bounds.md",
        "tex_path": "bounds.tex",
        "images_path": "images.csv",
        "gini_csv_path": "gini.csv",
        "gini_md_path": "gini.md",
        "scatter_path": "scatter.png",
        "epsilon_path": "epsilon.png",
        "gini_figure_path": "gini.png",
    }
    return {k: str(root / "out" / v) for k, v in names.items()}


def test_job_writes_every_output_and_reports_the_violation_rate(tmp_path):
    rows = grid()
    bound_paths = {}
    for (method, model), part in rows.groupby(["method", "model"], sort=False):
        path = tmp_path / f"{model}-{method}.parquet"
        part.to_parquet(path, index=False)
        bound_paths.setdefault(method, {})[model] = str(path)
    out = outputs(tmp_path)
    aggregate_bounds(dataset="d", bound_paths=bound_paths, card_paths=write_cards(tmp_path), n_boot=50, seed=0, **out)
    assert all(Path(p).stat().st_size > 0 for p in out.values())
    markdown = Path(out["md_path"]).read_text()
    assert "Violation rates" in markdown and "D* > B₁: 8/16 (50.0%)" in markdown
    assert "β = 10" in markdown and "not certificates" in markdown and "50.0% (2/4)" in markdown
    summary = pd.read_csv(out["csv_path"])
    assert len(summary) == 16 and (summary["violates_first_order_rate"] == 0.5).all()
    per_image = pd.read_csv(out["images_path"])  # per image, norm and ε: the bounds, D* and its attack
    assert len(per_image) == 16 * 4 and per_image["violates_first_order"].sum() == 32
    assert {"bound_first_order", "bound_practical", "deviation", "best_attack", "dataset"} <= set(per_image)
    assert "ρ(Gini" in Path(out["gini_md_path"]).read_text()
    assert r"\begin{table}" in Path(out["tex_path"]).read_text()


def test_job_with_an_empty_file_says_there_is_nothing(tmp_path):
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"pool_index": pd.Series([], dtype="int64")}).to_parquet(path, index=False)
    out = outputs(tmp_path)
    aggregate_bounds(
        dataset="d",
        bound_paths={"ig": {STD: str(path), ROBUST: str(path)}},
        card_paths=write_cards(tmp_path),
        n_boot=10,
        seed=0,
        **out,
    )
    assert "no image was bounded" in Path(out["md_path"]).read_text()
    assert "no data" in Path(out["gini_md_path"]).read_text()
    assert all(Path(p).exists() for p in out.values())


def test_a_nan_bound_and_an_inf_deviation_are_flagged_counted_and_left_out():
    rows = grid()
    first = (rows["method"] == "integrated_gradients") & (rows["model"] == STD) & (rows["norm"] == "l2")
    first &= rows["epsilon"] == 0.25
    rows.loc[first & (rows["pool_index"] == 0), "bound_first_order"] = np.nan  # a NaN map's bound
    rows.loc[first & (rows["pool_index"] == 3) & (rows["attack"] == ATTACKS[0]), "deviation"] = np.inf
    best = best_per_image(rows)
    assert best["nonfinite"].sum() == 2 and best.columns[-1] == "nonfinite"
    row = bound_summary(best, SPECS).iloc[0]
    assert row["n_images"] == 2 and row["n_nonfinite"] == 2
    assert row["mean_deviation"] == pytest.approx(np.mean([0.2, 0.3]) * 0.5)  # images 1 and 2 only
    assert row["violates_first_order_count"] == 1 and row["violates_first_order_n"] == 2
    assert bound_summary(best, SPECS).iloc[1]["n_nonfinite"] == 0
    wide = bounds_wide(bound_summary(best, SPECS))
    assert wide.iloc[0]["N"] == "2 (2 non-finite left out)" and wide.iloc[1]["N"] == 4
    relation = gini_deviation_relation(best, n_boot=10, seed=0)
    one = relation[(relation["model"] == STD) & (relation["epsilon"] == 0.25) & (relation["method"] != "saliency")]
    assert (one["n"] == 2).all() and (one["n_nonfinite"] == 2).all()
    note = nonfinite_note(best)
    assert "in (image, ε) pairs: 2 of net-std-s0;" in note and nonfinite_note(best_per_image(grid())) == ""


def test_the_bounds_table_names_the_seed_of_each_row_when_a_model_has_several():
    rows = grid()
    assert "Seed" not in bounds_wide(bound_summary(best_per_image(rows), SPECS)).columns
    second = "net-std-s1"
    rows = pd.concat([rows, rows[rows["model"] == STD].assign(model=second)], ignore_index=True)
    specs = {**SPECS, second: ModelSpec(id=second, dataset="d", arch="net", seed=1)}
    wide = bounds_wide(bound_summary(best_per_image(rows), specs))
    standard = wide[(wide["Method"] == "integrated_gradients") & (wide["Training"] == "Std. trained")]
    assert standard["Seed"].tolist() == [0, 1] * 4  # per threat (2 norms x 2 ε), seed 0 then seed 1
