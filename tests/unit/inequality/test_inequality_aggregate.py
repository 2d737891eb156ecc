"""Table 1 end to end from scored hand-made maps: a NaN map and an Inf map are flagged by the scoring,
counted in the CSV's `n_nonfinite` and the caption, and left out of the mean, whose N the cell shows; a
clean run's table carries no note."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ineqbench.inequality.aggregate import aggregate_gini
from ineqbench.inequality.score import score_maps
from ineqbench.models.spec import ModelSpec

SPECS = {
    "net-std": ModelSpec(id="net-std", dataset="d", arch="net"),
    "net-at": ModelSpec(id="net-at", dataset="d", arch="net", epsilon=8 / 255),
}


def one_hot_maps(n: int) -> np.ndarray:
    """n maps of 1x4x4 with all mass on one pixel: global Gini 1 - 1/16 each."""
    maps = np.zeros((n, 1, 4, 4), np.float32)
    maps[:, 0, 0, 0] = 1.0
    return maps


def run(tmp_path: Path, maps: dict[str, np.ndarray]) -> dict[str, str]:
    score_paths, card_paths = {}, {}
    for model, model_maps in maps.items():
        scores = score_maps(model_maps, None, ["abs"], region_size=2)
        scores.insert(0, "pool_index", np.arange(len(model_maps)))
        score_paths[model] = str(tmp_path / f"{model}.parquet")
        scores.to_parquet(score_paths[model], index=False)
        card_paths[model] = str(tmp_path / f"{model}.json")
        Path(card_paths[model]).write_text(json.dumps({"spec": SPECS[model].as_dict()}))
    n = len(next(iter(maps.values())))
    pd.DataFrame({"pool_index": np.arange(n)}).to_parquet(tmp_path / "selection.parquet", index=False)
    description = f"N = {n} images correctly classified by all 2 models"
    (tmp_path / "selection.json").write_text(json.dumps({"description": description, "warning": None}))
    out = {k: str(tmp_path / f"gini.{k[:-5]}") for k in ("csv_path", "md_path", "tex_path", "figure_path")}
    aggregate_gini(
        dataset="d",
        method="ig",
        score_paths=score_paths,
        card_paths=card_paths,
        selection_path=str(tmp_path / "selection.parquet"),
        selection_info_path=str(tmp_path / "selection.json"),
        n_boot=10,
        seed=0,
        **out,
    )
    return out


def test_nan_and_inf_maps_are_counted_shown_and_never_averaged(tmp_path):
    broken = one_hot_maps(4)
    broken[1, 0, 3, 3] = np.nan
    broken[2, 0, 2, 2] = np.inf
    out = run(tmp_path, {"net-std": broken, "net-at": one_hot_maps(4)})
    summary = pd.read_csv(out["csv_path"]).set_index(["scope", "training"])
    row = summary.loc[("global", "Std. trained")]
    assert row["n_images"] == 2 and row["n_nonfinite"] == 2 and row["mean"] == pytest.approx(1 - 1 / 16)
    assert summary.loc[("global", "ε = 8/255"), "n_nonfinite"] == 0
    assert summary.columns[-1] == "n_nonfinite"
    markdown = Path(out["md_path"]).read_text()
    assert "left out of every mean, in maps: 2 of net-std;" in markdown
    assert "| Global | net | 0.94 ± 0.00 (N = 2) | 0.94 ± 0.00 |" in markdown
    assert "in maps: 2 of net-std" in Path(out["tex_path"]).read_text()


def test_a_clean_run_has_no_note_and_no_cell_n(tmp_path):
    out = run(tmp_path, {"net-std": one_hot_maps(3), "net-at": one_hot_maps(3)})
    markdown = Path(out["md_path"]).read_text()
    assert "Non-finite" not in markdown and "(N = " not in markdown
    assert "| Global | net | 0.94 ± 0.00 | 0.94 ± 0.00 |" in markdown
    assert (pd.read_csv(out["csv_path"])["n_nonfinite"] == 0).all()
