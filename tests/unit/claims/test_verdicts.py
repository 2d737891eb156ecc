"""Each verdict rule of docs/claims.md on hand-made numbers, and the claims table on hand-made per-image
outputs of a standard and an l∞ model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ineqbench.claims.aggregate import aggregate_claims
from ineqbench.claims.verdicts import agreement, bootstrap_difference, upper_rate, verdict
from ineqbench.models.spec import ModelSpec

RNG = np.random.default_rng(0)


def seeds(shift: float, n_seeds: int, spread: float = 0.01, n: int = 200) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per seed, (a, b) on the same n images with b − a = shift + noise."""
    groups = []
    for _ in range(n_seeds):
        a = RNG.uniform(0.4, 0.6, n)
        groups.append((a, a + shift + RNG.normal(0, spread, n)))
    return groups


def interval(shift, n_seeds, spread=0.01, paired=True):
    return bootstrap_difference(seeds(shift, n_seeds, spread), paired=paired, n_boot=500, seed=0)


@pytest.mark.parametrize(
    ("shift", "n_seeds", "kind", "expected"),
    [
        (0.1, 3, "training", "holds"),
        (-0.1, 3, "training", "does not hold"),
        (0.0, 3, "training", "inconclusive"),
        (0.1, 1, "training", "inconclusive (1 seed)"),  # a claim about training needs 3 seeds
        (0.1, 2, "training", "inconclusive (2 seeds)"),
        (0.1, 1, "attack", "holds"),  # a claim about an attack is decided over images
        (-0.1, 1, "attack", "does not hold"),
    ],
)
def test_the_interval_side_and_the_seed_rule_decide_the_verdict(shift, n_seeds, kind, expected):
    assert verdict(interval(shift, n_seeds), direction=1, kind=kind) == expected


def test_a_claimed_decrease_holds_when_the_interval_lies_below_zero():
    assert verdict(interval(-0.1, 3), direction=-1, kind="training") == "holds"


@pytest.mark.parametrize(
    ("shift", "expected"), [(0.0, "holds"), (0.01, "holds"), (0.1, "does not hold"), (0.03, "does not hold")]
)
def test_not_more_than_holds_below_the_margin_and_fails_when_significantly_more(shift, expected):
    assert verdict(interval(shift, 3, spread=0.02), direction=-1, kind="training", margin=0.02) == expected


def test_not_more_than_is_inconclusive_when_the_interval_straddles_zero_and_the_margin():
    wide = interval(0.0, 3, spread=0.5)
    assert wide.low < 0 < 0.02 < wide.high
    assert verdict(wide, direction=-1, kind="training", margin=0.02) == "inconclusive"


def test_non_finite_values_are_counted_and_left_out_and_the_interval_says_what_it_covers():
    a, b = np.full(10, 0.5), np.full(10, 0.7)
    a[0], b[1] = np.nan, np.inf
    result = bootstrap_difference([(a, b)], paired=True, n_boot=100, seed=0)
    assert result.estimate == pytest.approx(0.2) and result.n_left_out == 2 and result.n_images == 8
    assert result.covers() == "8 images × 1 seed (2 left out)"


def test_unpaired_rates_resample_each_side_on_its_own():
    result = bootstrap_difference([(np.zeros(50), np.ones(30))], paired=False, n_boot=100, seed=0)
    assert (result.estimate, result.low, result.high) == (1.0, 1.0, 1.0)


def test_method_agreement_and_the_rate_limit():
    assert agreement({"ig": 1, "ixg": 1}) == "holds"
    assert agreement({"ig": 1, "ixg": -1}) == "does not hold"
    assert agreement({"ig": 1, "ixg": 0}) == "inconclusive"
    assert upper_rate(0, 1000) == pytest.approx(1 - 0.025 ** (1 / 1000), rel=1e-6)


def _outputs(tmp_path, model: str, gini: float, fooled_type1: float, eps: float) -> dict:
    """A model's card, Gini scores and noise rows on 100 images (fooled on the first share of them)."""
    spec = ModelSpec(id=model, dataset="d", arch="net", epsilon=eps)
    (tmp_path / f"{model}.json").write_text(json.dumps({"spec": spec.as_dict(), "recipe": {}}))
    images = np.arange(100)
    scores = pd.DataFrame(
        {"pool_index": images, "transform": "abs", "gini_global": gini + RNG.normal(0, 0.01, 100),
         "gini_regional": gini, "zero_mass": False, "nonfinite": False}
    )  # fmt: skip
    scores.to_parquet(tmp_path / f"{model}_scores.parquet")
    noise = pd.concat(
        [
            pd.DataFrame({"pool_index": images, "noise_type": kind, "budget": "5000/150528",
                          "fooled": images < share * 100, "logits_finite": True})
            for kind, share in (("type1", fooled_type1), ("type2", fooled_type1), ("random", 0.05))
        ]
    )  # fmt: skip
    noise.to_parquet(tmp_path / f"{model}_noise.parquet")
    return {"card": str(tmp_path / f"{model}.json"), "scores": str(tmp_path / f"{model}_scores.parquet"),
            "noise": str(tmp_path / f"{model}_noise.parquet")}  # fmt: skip


def test_the_claims_table_on_hand_made_outputs(tmp_path):
    std, robust = _outputs(tmp_path, "std", 0.60, 0.10, 0.0), _outputs(tmp_path, "rob", 0.85, 0.60, 8 / 255)
    pd.DataFrame({"pool_index": np.arange(100)}).to_parquet(tmp_path / "selection.parquet")
    (tmp_path / "selection.json").write_text(json.dumps({"description": "N = 100 images", "warning": None}))
    inputs = {
        "scores": {"ig": {"std": std["scores"], "rob": robust["scores"]}},
        "noise": {"ig": {"std": std["noise"], "rob": robust["noise"]}},
        "transfer": {},
        "bounds": {},
    }
    aggregate_claims(
        dataset="d", inputs=inputs, card_paths={"std": std["card"], "rob": robust["card"]},
        selection_path=str(tmp_path / "selection.parquet"), selection_info_path=str(tmp_path / "selection.json"),
        occlusion_budget=None, method="ig", transform="abs", noise_budget="5000/150528", n_boot=200, seed=0,
        csv_path=str(tmp_path / "claims.csv"), md_path=str(tmp_path / "claims.md"),
    )  # fmt: skip
    table = pd.read_csv(tmp_path / "claims.csv").set_index("claim")
    assert table.loc["D1g", "estimate"] == pytest.approx(0.25, abs=0.01)
    assert table.loc["D1g", "verdict"] == "inconclusive (1 seed)"  # training, one seed
    assert table.loc["D2n1", "estimate"] == pytest.approx(0.50)
    assert table.loc["D3", "verdict"] == "holds"  # Noise I 60% vs random 5% on the l∞ model, over 100 images
    assert "| D3 | Duan et al. |" in (tmp_path / "claims.md").read_text()
