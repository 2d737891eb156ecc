"""The comparison families: membership keyed on variants (a pruned model never stands in for the
standard one, a Cutout model never for plain AT), and the family table read from the stages' tables."""

from __future__ import annotations

import pandas as pd
import pytest

from ineqbench.families.aggregate import family_table, family_wide
from ineqbench.families.settings import family_models
from ineqbench.models.settings import BUILT_IN_VARIANTS, Variant
from ineqbench.models.spec import ModelSpec

VARIANTS = {name: Variant(**fields) for name, fields in BUILT_IN_VARIANTS.items()}


def spec(model_id: str, eps: float = 0.0, arch: str = "net", **fields) -> ModelSpec:
    return ModelSpec(id=model_id, dataset="d", arch=arch, epsilon=eps, **fields)


SPECS = [
    spec("std"),
    spec("at4", 4 / 255),
    spec("l2", 0.5, norm="l2"),
    spec("at4-cutout", 4 / 255, variant="cutout"),
    spec("std-finetuned", variant="finetuned", init_from="std"),
    spec("std-pruned", variant="prune_weights_90", init_from="std"),
    spec("other-std", arch="other"),
    spec("other-at4", 4 / 255, arch="other"),
]


def test_each_family_holds_its_models_and_the_plain_references_of_their_architecture():
    families = family_models(SPECS, VARIANTS)
    assert families == {
        "cutout": ["std", "at4", "at4-cutout"],
        "l2": ["std", "at4", "l2"],
        "sparsity": ["std", "at4", "std-finetuned", "std-pruned"],
    }
    assert family_models([s for s in SPECS if s.is_plain and s.norm == "linf"], VARIANTS) == {}


def _summary(rows: list[tuple], **columns) -> pd.DataFrame:
    """Rows of a stage's summary CSV: (arch, training, models, mean) plus the given constant columns."""
    frame = pd.DataFrame(rows, columns=["arch", "training", "models", "mean"])
    return frame.assign(std=0.01, n_images=100, n_nonfinite=0, **columns)


TRAININGS = [("net", "Std. trained", "std"), ("net", "ε = 4/255", "at4"), ("net", "ε = 4/255, cutout", "at4-cutout")]


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    gini = pd.concat(
        [
            _summary([(*t, value) for t, value in zip(TRAININGS, (0.60, 0.80, 0.75))], scope="global"),
            _summary([(*t, value) for t, value in zip(TRAININGS, (0.70, 0.90, 0.85))], scope="regional"),
            _summary([(*TRAININGS[0], 0.99)], scope="global").assign(transform="relu"),
        ]
    )
    gini["transform"] = gini["transform"].fillna("abs")
    occlusion = pd.concat(
        [
            _summary([(*t, rate) for t in TRAININGS], attack=attack, budget=budget, colour=colour)
            for attack, budget, rate in (
                ("occlusion", "N=5, R=2", 0.5),
                ("occlusion", "N=10, R=4", 0.9),
                ("random_occlusion", "N=5, R=2", 0.1),
            )  # fmt: skip
            for colour in ("black", "grey", "white")
        ]
    )
    noise = pd.concat(
        [
            _summary([(*t, k / 1000) for t in TRAININGS], noise_type=kind, k=k, fraction_percent=100 * k / 3072)
            for kind in ("random", "type1", "type2")
            for k in (10, 102, 204)
        ]
    )
    models = pd.DataFrame(
        {
            "model": ["std", "at4", "at4-cutout", "unrelated"],
            "arch": "net",
            "training": [t[1] for t in TRAININGS] + ["ε = 2/255"],
            "clean_accuracy": [0.9, 0.8, 0.7, 0.1],
            "sparsity_weights": 0.0,
            "sparsity_filters": 0.0,
        }
    )
    return {"models": models, "gini": gini, "occlusion": occlusion, "noise": noise}


def test_the_family_table_reads_each_cell_from_the_stage_table_at_the_table_settings(tables):
    table = family_table(
        tables["models"], tables["gini"], tables["occlusion"], tables["noise"],
        members=["std", "at4", "at4-cutout"], transform="abs", occlusion_budget="N=5, R=2",
        noise_budget=5000 / 150528, shows_sparsity=False,
    )  # fmt: skip
    cell = table.set_index(["training", "column"])["cell"]
    assert cell["ε = 4/255, cutout", "Clean acc."] == "70.0%"
    assert cell["ε = 4/255, cutout", "Gini global"] == "0.75 ± 0.01"
    assert cell["ε = 4/255", "Gini regional"] == "0.90 ± 0.01"
    assert cell["Std. trained", "Occ-B"] == "50.0%"  # guided, first budget: not random, not N=10
    assert cell["Std. trained", "Noise II"] == "10.2%"  # k = 102 of 3072 is the nearest share to 5000/150528
    assert "ε = 2/255" not in set(table["training"])  # not a member
    wide = family_wide(table)
    assert list(wide.columns) == [
        "Model", "Training", "Clean acc.", "Gini global", "Gini regional", "Occ-B", "Occ-G", "Occ-W", "Noise I",
        "Noise II",
    ]  # fmt: skip
    assert list(wide["Training"]) == [t[1] for t in TRAININGS]


def test_a_count_budget_selects_its_k_and_the_sparsity_family_shows_the_measured_zeros(tables):
    tables["models"].loc[2, ["sparsity_weights", "sparsity_filters"]] = [0.9, 0.0]
    table = family_table(
        tables["models"], tables["gini"], tables["occlusion"], tables["noise"],
        members=["std", "at4-cutout"], transform="abs", occlusion_budget="N=10, R=4", noise_budget=204,
        shows_sparsity=True,
    )  # fmt: skip
    cell = table.set_index(["training", "column"])["cell"]
    assert cell["Std. trained", "Noise I"] == "20.4%" and cell["Std. trained", "Occ-W"] == "90.0%"
    assert cell["ε = 4/255, cutout", "Zero weights"] == "90%"
