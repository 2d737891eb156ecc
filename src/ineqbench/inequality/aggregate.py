"""Aggregation of the inequality stage: Table 1 (Gini by model, over the selected images) and Figure 2.

Maps flagged non-finite (or with a non-finite Gini) are counted per model in the CSV's `n_nonfinite`
and the caption, and left out of the means."""

from __future__ import annotations

import pandas as pd

from ineqbench.attribution.cache import load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.inequality.figures import plot_attribution_maps as draw_attribution_maps
from ineqbench.inequality.figures import plot_gini_vs_epsilon
from ineqbench.io import read_json, write_text
from ineqbench.reporting.models import specs_from_cards
from ineqbench.reporting.nonfinite import caption_note
from ineqbench.reporting.tables import (
    SCOPES,
    column_label,
    nonfinite_by_model,
    summarise,
    to_latex,
    to_markdown,
    training_key,
    wide_table,
)


def aggregate_gini(
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
    families = any(not specs[m].on_the_ladder for m in score_paths)
    sections, latex = [], []
    for transform in dict.fromkeys(summary["transform"]):
        left_out = nonfinite_by_model(scores[scores["transform"] == transform], list(SCOPES.values()))
        others = " The comparison families' models (l2, variants): tables/family_*.md." if families else ""
        caption = (
            f"Gini index (mean ± std) of {method} attributions on {dataset}, |A| transform '{transform}'; "
            f"{info['description']}.{caption_note(left_out, 'maps')}{others}"
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


def plot_attribution_maps(
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
    # the models of the ε ladder: the comparison families have tables of their own
    specs = {m: s for m, s in specs_from_cards(card_paths).items() if m in attribution_paths and s.on_the_ladder}
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
    draw_attribution_maps(
        pool_images.images[chosen],
        maps,
        ginis,
        titles,
        figure_path,
        f"{dataset}: {method} attributions, raw and with the ±3σ clip (global Gini in titles)",
    )
