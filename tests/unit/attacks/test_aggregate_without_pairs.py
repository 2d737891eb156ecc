"""Table 3 when the data set has standard models only (a sweep): a table that says so, not a crash."""

import json

import pandas as pd

from ineqbench.attacks.aggregate import aggregate_ablation


def test_the_ablation_of_a_grid_without_robust_models_says_it_has_no_pairs(tmp_path):
    cards = {}
    for arch in ("test_resnet", "test_vit"):
        model = f"{arch}-std-s0"
        cards[model] = tmp_path / f"{model}.json"
        spec = {"id": model, "dataset": "shapes", "arch": arch}
        cards[model].write_text(json.dumps({"spec": spec}))
    pd.DataFrame({"pool_index": [0, 1]}).to_parquet(tmp_path / "selection.parquet")
    (tmp_path / "selection.json").write_text(json.dumps({"description": "2 images correct for all"}))
    out = {k: tmp_path / f"ablation.{k}" for k in ("csv", "md", "tex")}
    aggregate_ablation(
        dataset="shapes",
        score_paths={"ig": {}},
        attack_paths={},
        card_paths={m: str(p) for m, p in cards.items()},
        selection_path=str(tmp_path / "selection.parquet"),
        selection_info_path=str(tmp_path / "selection.json"),
        context={},
        transform="abs",
        n_boot=10,
        seed=0,
        csv_path=str(out["csv"]),
        md_path=str(out["md"]),
        tex_path=str(out["tex"]),
    )
    assert "no pairs: the data set has no standard and l∞ model of one architecture" in out["md"].read_text()
    assert "2 images correct for all" in out["md"].read_text()
    assert pd.read_csv(out["csv"]).empty and out["tex"].exists()
