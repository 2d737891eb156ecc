"""Aggregation stages of one data set: image selection, model cards, Table 1, figures."""

from __future__ import annotations

import pandas as pd

from ineqbench.attribution.cache import load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.io import read_json, write_json, write_parquet, write_text
from ineqbench.models.spec import ModelSpec
from ineqbench.reporting.figures import plot_attribution_maps, plot_gini_vs_epsilon
from ineqbench.reporting.selection import select_images
from ineqbench.reporting.tables import (
    SCOPES,
    column_label,
    model_cards_table,
    summarise,
    to_latex,
    to_markdown,
    training_key,
    wide_table,
)


def select_images_job(*, prediction_paths: dict[str, str], n_images: int, out_path: str, info_path: str) -> None:
    selection = select_images({m: pd.read_parquet(p) for m, p in prediction_paths.items()}, n_images)
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


def model_cards_job(*, card_paths: dict[str, str], csv_path: str, md_path: str) -> None:
    frame, warnings = model_cards_table({m: read_json(p) for m, p in card_paths.items()})
    frame.to_csv(csv_path, index=False)
    notes = (
        "\n".join(f"- WARNING: {w}" for w in warnings)
        or "- No gradient-masking warnings: every adversarially "
        "trained model is more PGD-robust at its ε than the standard model of its architecture and seed."
    )
    write_text(md_path, "## Models: clean and PGD accuracy\n\n" + to_markdown(frame.round(4)) + "\n\n" + notes + "\n")


def specs_from_cards(card_paths: dict[str, str]) -> dict[str, ModelSpec]:
    return {m: ModelSpec(**read_json(p)["spec"]) for m, p in card_paths.items()}


def gini_table_job(
    *,
    dataset: str,
    method: str,
    score_paths: dict[str, str],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
    figure_path: str,
) -> None:
    specs = specs_from_cards(card_paths)
    chosen = set(pd.read_parquet(selection_path)["pool_index"])
    info = read_json(selection_info_path)
    scores = pd.concat([pd.read_parquet(p).assign(model=m) for m, p in score_paths.items()], ignore_index=True)
    scores = scores[scores["pool_index"].isin(chosen)]
    columns = {**SCOPES, "mass_in_mask": "mass_in_mask"}
    summary = summarise(scores, specs, value_columns=columns, n_boot=n_boot, seed=seed)
    summary.insert(0, "dataset", dataset)
    summary.insert(1, "method", method)
    summary.to_csv(csv_path, index=False)
    gini_only = summary[summary["scope"].isin(SCOPES)]
    sections, latex = [], []
    for transform in dict.fromkeys(summary["transform"]):
        caption = (
            f"Gini index (mean ± std) of {method} attributions on {dataset}, |A| transform '{transform}'; "
            f"{info['description']}."
        )
        wide = wide_table(gini_only, transform)
        sections.append(f"### {caption}\n\n{to_markdown(wide)}\n")
        mask = summary[(summary["transform"] == transform) & (summary["scope"] == "mass_in_mask")]
        if len(mask):
            mask_wide = wide_table(mask.assign(scope="mass in mask"), transform)
            sections.append(
                f"Share of attribution mass inside the object mask (mean ± std):\n\n{to_markdown(mask_wide)}\n"
            )
        latex.append(to_latex(wide, caption))
    if info.get("warning"):
        sections.insert(0, f"> WARNING: {info['warning']}\n")
    write_text(md_path, "\n".join(sections))
    write_text(tex_path, "\n".join(latex))
    first = next(iter(dict.fromkeys(summary["transform"])))
    plot_gini_vs_epsilon(
        gini_only, first, f"{dataset}, {method}, transform {first}; {info['description']}", figure_path
    )


def attribution_figure_job(
    *,
    dataset: str,
    method: str,
    attribution_paths: dict[str, str],
    score_paths: dict[str, str],
    card_paths: dict[str, str],
    selection_path: str,
    test_path: str,
    pool_path: str,
    n_figure_images: int,
    figure_path: str,
) -> None:
    specs = specs_from_cards(card_paths)
    order = sorted(specs, key=lambda m: (specs[m].arch, training_key(specs[m]), specs[m].seed))
    order = [m for m in order if specs[m].seed == min(s.seed for s in specs.values())]
    chosen = pd.read_parquet(selection_path)["pool_index"].to_numpy()[:n_figure_images]
    _, pool_images = load_pool_images(test_path, pool_path)
    maps, ginis = {}, {}
    for model in order:
        all_maps, arrays, _ = load_attributions(attribution_paths[model])
        position = {p: i for i, p in enumerate(arrays["pool_index"])}
        maps[model] = all_maps[[position[p] for p in chosen]]
        scores = pd.read_parquet(score_paths[model])
        scores = scores[scores["transform"] == scores["transform"].iloc[0]].set_index("pool_index")
        ginis[model] = scores.loc[chosen, "gini_global"].to_numpy()
    titles = {m: f"{specs[m].arch}\n{column_label(specs[m])}" for m in order}
    plot_attribution_maps(
        pool_images.images[chosen],
        maps,
        ginis,
        titles,
        figure_path,
        f"{dataset}: {method} attributions, raw and with the ±3σ clip (global Gini in titles)",
    )
