"""Aggregation maths: image selection, multi-seed summaries with the bootstrap, non-finite values counted
and left out, gradient-masking check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ineqbench.models.spec import ModelSpec
from ineqbench.reporting.nonfinite import caption_note
from ineqbench.reporting.selection import correct_for_all
from ineqbench.reporting.tables import (
    hierarchical_bootstrap,
    model_cards_table,
    nonfinite_by_model,
    summarise,
    wide_table,
)


def predictions(correct: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"pool_index": np.arange(len(correct)), "correct": correct})


def test_selection_keeps_the_first_images_correct_for_every_model_in_pool_order():
    preds = {
        "a": predictions([True, False, True, True, True, True]),
        "b": predictions([True, True, True, False, True, True]),
    }
    selection = correct_for_all(preds, n_images=3)
    assert selection.pool_index.tolist() == [0, 2, 4]
    assert selection.available == 4 and selection.warning is None
    assert selection.describe() == "N = 3 images correctly classified by all 2 models"


def test_selection_warns_and_uses_what_is_left_when_too_few_remain():
    selection = correct_for_all({"a": predictions([True, False, True])}, n_images=5)
    assert selection.pool_index.tolist() == [0, 2]
    assert "N = 2 instead of the requested 5" in selection.warning


def spec(model_id: str, eps: float, seed: int, arch: str = "net") -> ModelSpec:
    return ModelSpec(id=model_id, dataset="d", arch=arch, epsilon=eps, seed=seed)


def scores_frame(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"model": m, "pool_index": i, "transform": "abs", "gini_global": v, "gini_regional": v / 2, "zero_mass": False}
        for m, vs in values.items()
        for i, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_summary_pools_seeds_and_adds_a_bootstrap_interval_only_with_several_seeds():
    specs = {"std-s0": spec("std-s0", 0, 0), "std-s1": spec("std-s1", 0, 1), "at-s0": spec("at-s0", 4 / 255, 0)}
    scores = scores_frame({"std-s0": [0.5, 0.6], "std-s1": [0.7, 0.8], "at-s0": [0.9, 0.9]})
    summary = summarise(
        scores, specs, value_columns={"global": "gini_global", "regional": "gini_regional"}, n_boot=500, seed=0
    )
    std = summary[(summary["scope"] == "global") & (summary["epsilon"] == 0)].iloc[0]
    assert std["n_seeds"] == 2 and std["n_images"] == 2
    assert std["mean"] == pytest.approx(0.65) and std["std"] == pytest.approx(np.std([0.5, 0.6, 0.7, 0.8]))
    assert 0.5 <= std["ci_low"] < 0.65 < std["ci_high"] <= 0.8
    at = summary[(summary["scope"] == "regional") & (summary["epsilon"] > 0)].iloc[0]
    assert at["mean"] == pytest.approx(0.45) and np.isnan(at["ci_low"])
    wide = wide_table(summary, "abs")
    assert list(wide.columns) == ["Inequality", "Model", "Std. trained", "ε = 4/255"]
    assert wide.iloc[0]["Std. trained"].startswith("0.65 ± 0.11 [")


def test_zero_mass_images_are_left_out_of_the_statistics():
    scores = scores_frame({"m": [0.5, 0.7, 0.0]})
    scores.loc[2, "zero_mass"] = True
    summary = summarise(scores, {"m": spec("m", 0, 0)}, value_columns={"global": "gini_global"}, n_boot=100, seed=0)
    assert summary.iloc[0]["mean"] == pytest.approx(0.6) and summary.iloc[0]["n_zero_mass"] == 1


def test_hierarchical_bootstrap_reflects_seed_to_seed_variation():
    rng = np.random.default_rng(0)
    same = [rng.normal(0.5, 0.05, 200) for _ in range(3)]
    apart = [rng.normal(mu, 0.05, 200) for mu in (0.3, 0.5, 0.7)]
    lo_same, hi_same = hierarchical_bootstrap(same, 1000, seed=1)
    lo_apart, hi_apart = hierarchical_bootstrap(apart, 1000, seed=1)
    assert lo_same < 0.5 < hi_same and (hi_apart - lo_apart) > 5 * (hi_same - lo_same)


def card(model_id: str, eps: float, robust: dict, arch: str = "net", seed: int = 0, **fields) -> dict:
    model = ModelSpec(id=model_id, dataset="d", arch=arch, epsilon=eps, seed=seed, **fields)
    return {"spec": model.as_dict(), "clean_accuracy": 0.9, "robust_accuracy": robust}


def test_model_cards_warn_when_adversarial_training_is_not_more_robust():
    cards = {
        "std": card("std", 0, {"linf": {"2/255": 0.40, "4/255": 0.10}}),
        "at2": card("at2", 2 / 255, {"linf": {"2/255": 0.35, "4/255": 0.20}}),
        "at4": card("at4", 4 / 255, {"linf": {"2/255": 0.50, "4/255": 0.30}}),
    }
    frame, warnings = model_cards_table(cards)
    assert frame.set_index("model").loc["at4", "pgd_linf@4/255"] == 0.30
    assert len(warnings) == 1 and warnings[0].startswith("at2: PGD accuracy at l∞ ε = 2/255 is 0.350")


def test_model_cards_name_a_missing_evaluation_radius():
    cards = {"std": card("std", 0, {"linf": {"2/255": 0.4}}), "at8": card("at8", 8 / 255, {"linf": {"2/255": 0.5}})}
    _, warnings = model_cards_table(cards)
    assert warnings == ["at8: no PGD accuracy at l∞ ε = 8/255 for the comparison; add it to eval_epsilons"]


def test_an_l2_model_is_checked_at_its_own_l2_radius_against_the_plain_standard_model_only():
    cards = {
        "std": card("std", 0, {"linf": {"2/255": 0.4}, "l2": {"0.5": 0.30}}),
        # a pruned standard model is no comparator: its lower accuracy must not hide a failure
        "pruned": card("pruned", 0, {"l2": {"0.5": 0.05}}, variant="prune_weights_90", init_from="std"),
        "l2": card("l2", 0.5, {"linf": {"2/255": 0.6}, "l2": {"0.5": 0.25}}, norm="l2"),
    }
    frame, warnings = model_cards_table(cards)
    assert frame.set_index("model").loc["l2", "pgd_l2@0.5"] == 0.25
    assert warnings == [
        "l2: PGD accuracy at l2 ε = 0.5 is 0.250, not above the standard model's 0.300: possible gradient "
        "masking or failed adversarial training"
    ]
    assert frame.set_index("model").loc["pruned", "training"] == "Std. trained, prune_weights_90"


def test_a_nan_map_and_an_inf_value_are_counted_and_left_out_and_the_cell_shows_its_n():
    scores = scores_frame({"m": [0.5, 0.7, 0.0, 0.0], "clean": [0.2, 0.4]})
    scores["nonfinite"] = False
    scores.loc[2, ["gini_global", "gini_regional", "nonfinite"]] = [np.nan, np.nan, True]  # flagged NaN map
    scores.loc[3, "gini_regional"] = np.inf  # an absurd value nobody flagged
    specs = {"m": spec("m", 0, 0), "clean": spec("clean", 4 / 255, 0)}
    summary = summarise(
        scores, specs, value_columns={"global": "gini_global", "regional": "gini_regional"}, n_boot=10, seed=0
    ).set_index(["scope", "training"])
    glob, regional = summary.loc[("global", "Std. trained")], summary.loc[("regional", "Std. trained")]
    assert glob["n_images"] == 3 and glob["n_nonfinite"] == 1 and glob["mean"] == pytest.approx(0.4)
    assert regional["n_images"] == 2 and regional["n_nonfinite"] == 2 and regional["mean"] == pytest.approx(0.3)
    assert summary.loc[("global", "ε = 4/255"), "n_nonfinite"] == 0
    assert list(summary.reset_index().columns)[-2:] == ["models", "n_nonfinite"]  # appended after the old ones
    wide = wide_table(summary.reset_index().assign(transform="abs"), "abs").set_index("Inequality")
    assert wide.loc["Global", "Std. trained"] == f"0.40 ± {np.std([0.5, 0.7, 0.0]):.2f} (N = 3)"
    assert wide.loc["Regional", "Std. trained"] == "0.30 ± 0.05 (N = 2)"
    assert wide.loc["Global", "ε = 4/255"] == "0.30 ± 0.10"  # a clean cell reads as before


def test_a_model_whose_every_map_is_non_finite_keeps_its_count_and_reads_n_a():
    scores = scores_frame({"m": [0.5, 0.7], "broken": [0.0]})
    scores["nonfinite"] = [False, False, True]
    specs = {"m": spec("m", 0, 0), "broken": spec("broken", 4 / 255, 0)}
    summary = summarise(scores, specs, value_columns={"global": "gini_global"}, n_boot=10, seed=0)
    broken = summary[summary["models"] == "broken"].iloc[0]
    assert broken["n_images"] == 0 and broken["n_nonfinite"] == 1 and np.isnan(broken["mean"])
    assert wide_table(summary, "abs").iloc[0]["ε = 4/255"] == "n/a (N = 0)"


def test_the_caption_note_names_each_model_and_is_empty_without_non_finite_values():
    scores = scores_frame({"a": [0.5, np.nan], "b": [0.1, np.inf, np.nan]})
    assert nonfinite_by_model(scores, ["gini_global"]) == {"a": 1, "b": 2}
    assert caption_note(nonfinite_by_model(scores, ["gini_global"]), "maps") == (
        " Non-finite values (NaN or ±Inf), counted and left out of every mean, in maps: 1 of a, 2 of b; "
        "a cell that averages fewer images shows its N."
    )
    assert caption_note(nonfinite_by_model(scores_frame({"a": [0.5]}), ["gini_global"])) == ""
