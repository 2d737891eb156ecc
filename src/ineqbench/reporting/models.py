"""The aggregation steps every analysis shares: the image selection (the paper's "correct for all models"
filter) and the models table (clean, PGD and AutoAttack accuracy of every model card)."""

from __future__ import annotations

import pandas as pd

from ineqbench.io import read_json, write_json, write_parquet, write_text
from ineqbench.models.spec import ModelSpec
from ineqbench.reporting.selection import correct_for_all
from ineqbench.reporting.tables import model_cards_table, to_markdown


def select_images(*, prediction_paths: dict[str, str], n_images: int, out_path: str, info_path: str) -> None:
    selection = correct_for_all({m: pd.read_parquet(p) for m, p in prediction_paths.items()}, n_images)
    write_parquet(out_path, pd.DataFrame({"pool_index": selection.pool_index}))
    write_json(
        info_path,
        {
            "n": selection.n,
            "requested": selection.requested,
            "available": selection.available,
            "models": list(selection.models),
            "description": selection.describe(),
            "warning": selection.warning,
        },
    )


def aggregate_models(*, card_paths: dict[str, str], csv_path: str, md_path: str) -> None:
    frame, warnings = model_cards_table({m: read_json(p) for m, p in card_paths.items()})
    frame.to_csv(csv_path, index=False)
    notes = (
        "\n".join(f"- WARNING: {w}" for w in warnings)
        or "- No gradient-masking warnings: every adversarially trained model is more robust at its own norm "
        "and ε, under PGD and under AutoAttack where it ran, than the plain standard model of its architecture "
        "and seed."
    )
    title = "## Models (Table 5): clean, PGD and AutoAttack accuracy (pgd_*, aa_*), sparsity"
    write_text(md_path, f"{title}\n\n" + to_markdown(frame.round(4)) + "\n\n" + notes + "\n")


def specs_from_cards(card_paths: dict[str, str]) -> dict[str, ModelSpec]:
    return {m: ModelSpec(**read_json(p)["spec"]) for m, p in card_paths.items()}
