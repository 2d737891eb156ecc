"""Per-class inequality: class means over every image of the class, named classes ranked by the robust
model's Gini, non-finite maps counted and left out, the standard model's value of the same class beside."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ineqbench.inequality.per_class import aggregate_per_class, per_class_summary, ranked_classes
from ineqbench.models.spec import ModelSpec

NAMES = [f"class{c}" for c in range(12)]


def scores(model: str, base: float, rng) -> pd.DataFrame:
    """4 images per class; class c has mean global Gini base + c / 100 (and regional 0.5 + ...)."""
    labels = np.repeat(np.arange(12), 4)
    jitter = np.tile([-0.01, 0.01, -0.02, 0.02], 12)
    return pd.DataFrame(
        {
            "pool_index": np.arange(48),
            "label": labels,
            "transform": "abs",
            "gini_global": base + labels / 100 + jitter,
            "gini_regional": 0.5 + labels / 200 + jitter,
            "zero_mass": False,
            "nonfinite": False,
            "model": model,
        }
    )


def test_class_means_and_the_top_and_bottom_classes_by_the_robust_model():
    rng = np.random.default_rng(0)
    frame = pd.concat([scores("std", 0.5, rng), scores("rob", 0.8, rng)])
    frame.loc[(frame["model"] == "rob") & (frame["pool_index"] == 47), "gini_global"] = np.nan
    summary = per_class_summary(frame, NAMES)
    row = summary[(summary["model"] == "rob") & (summary["label"] == 11) & (summary["scope"] == "global")].iloc[0]
    assert row["n_images"] == 3 and row["n_left_out"] == 1  # the NaN map is counted, not averaged in
    assert row["mean"] == np.mean([0.91 - 0.01, 0.91 + 0.01, 0.91 - 0.02])
    table = ranked_classes(summary, "std", "rob", "global", top=5)
    assert list(table["class_name"]) == [f"class{c}" for c in (11, 10, 9, 8, 7, 0, 1, 2, 3, 4)]
    assert list(table["rank"]) == ["top"] * 5 + ["bottom"] * 5
    assert table.iloc[5]["standard"] == 0.5 and table.iloc[5]["robust"] == 0.8


def test_the_job_writes_the_tables_and_the_figure_for_the_standard_and_strongest_pair(tmp_path):
    rng = np.random.default_rng(0)
    cards, paths = {}, {}
    for model, eps, base in (("std", 0.0, 0.5), ("rob", 4 / 255, 0.8), ("weak", 2 / 255, 0.6)):
        spec = ModelSpec(id=model, dataset="d", arch="net", epsilon=eps)
        (tmp_path / f"{model}.json").write_text(json.dumps({"spec": spec.as_dict()}))
        scores(model, base, rng).drop(columns="model").to_parquet(tmp_path / f"{model}.parquet")
        cards[model], paths[model] = str(tmp_path / f"{model}.json"), str(tmp_path / f"{model}.parquet")
    (tmp_path / "dataset.json").write_text(json.dumps({"class_names": NAMES}))
    aggregate_per_class(
        dataset="d", method="ig", score_paths=paths, card_paths=cards, info_path=str(tmp_path / "dataset.json"),
        transform="abs", top=5, csv_path=str(tmp_path / "t.csv"), md_path=str(tmp_path / "t.md"),
        figure_path=str(tmp_path / "f.png"),
    )  # fmt: skip
    assert set(pd.read_csv(tmp_path / "t.csv")["model"]) == {"std", "rob"}  # the pair, not the 2/255 model
    text = (tmp_path / "t.md").read_text()
    assert "| top | 11 | class11 | 0.910 | 0.610 |" in text and "over all 48 pool images" in text
    assert (tmp_path / "f.png").stat().st_size > 0
