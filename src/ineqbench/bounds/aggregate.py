"""Aggregation stage of the attribution bounds: the bound-vs-attack table, the Gini relation table and
their three figures, from every (model, method) file of the per-model bound job.

The captions are built from the rows themselves (attribution method, surrogate β, σ_max method, the
attacks that ran), so a table always says which variant made it. An empty input file (no image was
bounded for that model and method) is skipped; with nothing at all, every output is still written and
says so. (image, ε) pairs with non-finite bounds or maps are counted per model in the captions and the
CSVs' `n_nonfinite`, left out of the tables and the figures.
"""

from __future__ import annotations

import pandas as pd

from ineqbench.bounds.figures import plot_bound_scatter, plot_bounds_vs_epsilon, plot_gini_vs_sensitivity
from ineqbench.bounds.relation import RELATIONS, gini_deviation_relation, gini_relation_wide
from ineqbench.bounds.tables import best_per_image, bound_summary, bounds_wide, violation_notes
from ineqbench.io import write_text
from ineqbench.reporting.models import specs_from_cards
from ineqbench.reporting.nonfinite import FLAG, caption_note, count_last, counts_by, flagged
from ineqbench.reporting.tables import column_label, to_latex, to_markdown


def read_bound_rows(bound_paths: dict[str, dict[str, str]]) -> pd.DataFrame:
    """All rows, method-outer and model-inner as given; the dict keys name the model and method (they
    built the paths). Zero-row files are skipped, whatever columns they have."""
    frames = [
        frame.assign(model=model, method=method)
        for method, paths in bound_paths.items()
        for model, path in paths.items()
        if len(frame := pd.read_parquet(path))
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _listing(values) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values)) or "none"


def surrogate_note(best: pd.DataFrame) -> str:
    """Which network's attribution the bounds speak of, per model: the softplus surrogate (with its β)
    or the network itself."""
    parts = []
    for model, rows in best.groupby("model", sort=False):
        smooth = rows[rows["surrogate"].astype("boolean").fillna(False).astype(bool)]
        if len(smooth):
            betas = ", ".join(f"{b:g}" for b in sorted(smooth["surrogate_beta"].dropna().unique()))
            parts.append(f"{model}: softplus surrogate, β = {betas or 'unknown'}")
        else:
            parts.append(f"{model}: the network itself (smooth activations, no surrogate)")
    return "; ".join(parts)


def nonfinite_note(best: pd.DataFrame) -> str:
    """The captions' sentence on the (image, ε) pairs left out as non-finite, "" when none were."""
    return caption_note(counts_by(best, flagged(best)) if len(best) else {}, "(image, ε) pairs")


def bounds_caption(dataset: str, rows: pd.DataFrame, best: pd.DataFrame) -> str:
    if best.empty:
        return f"Worst-case attribution deviation on {dataset}: no image was bounded for any model and method."
    return (
        f"Worst-case attribution deviation on {dataset} (Wang & Kong, CVPR 2023) of the attributions "
        f"{_listing(best['method'])}, A(x) being the map the bounds describe ({surrogate_note(best)}). "
        f"B₁ is the first-order "
        f"bound (ε σ_max(J(x)) for l2, ε min(√d σ_max, Σ_j ‖J_:,j‖₂) for l∞): a linearisation at x. B_p is "
        f"the practical bound, with σ_max maximised over the ball by projected ascent from x, sampled points "
        f"and the best attack iterate: an estimated sup. Both are estimates, not certificates (σ_max by "
        f"{_listing(best['sigma_method'].dropna())}). D* is the largest ‖A(x') − A(x)‖₂ any attack reached "
        f"with the label kept (attacks: {_listing(rows['attack'])}), cos* the lowest cosine. Violation rates "
        f"count the (image, ε) pairs with D* > B (cos* < cosine bound) and are findings about the bounds, "
        f"reported as measured; 'real-net' compares the real (ReLU) network's attribution at the same iterates "
        f"with the surrogate's bound.{nonfinite_note(best)}"
    )


def gini_caption(dataset: str, n_boot: int, note: str = "") -> str:
    return (
        f"Attribution inequality and worst-case deviation on {dataset}: Spearman's ρ between the global Gini "
        f"of the real network's |A(x)| and {' and '.join(RELATIONS.values())} (D* the best attack, B₁ the "
        f"first-order bound), with a 95% percentile bootstrap interval over images ({n_boot} resamples, "
        f"an image's rows at every ε resampled together) and scipy's p-value (which treats the rows pooled "
        f"over ε as independent, so it is optimistic there); 'all models' pools the models.{note}"
    )


def aggregate_bounds(
    *,
    dataset: str,
    bound_paths: dict[str, dict[str, str]],
    card_paths: dict[str, str],
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
    images_path: str,
    gini_csv_path: str,
    gini_md_path: str,
    scatter_path: str,
    epsilon_path: str,
    gini_figure_path: str,
) -> None:
    specs = specs_from_cards(card_paths)
    rows = read_bound_rows(bound_paths)
    best = best_per_image(rows)
    summary = bound_summary(best, specs)
    caption = bounds_caption(dataset, rows, best)
    wide = bounds_wide(summary)
    write_text(csv_path, count_last(summary.assign(dataset=dataset)).to_csv(index=False))
    # per image, norm and ε: each bound, the best attack deviation and which attack gave it, the flags
    write_text(images_path, count_last(best.assign(dataset=dataset), FLAG).to_csv(index=False))
    write_text(md_path, f"### {caption}\n\n{to_markdown(wide)}\n\n{violation_notes(summary)}")
    write_text(tex_path, to_latex(wide, caption, label_columns=4 if len(summary) else 1))

    relation = gini_deviation_relation(best, n_boot=n_boot, seed=seed)
    labels = {m: f"{s.arch} {column_label(s)}" for m, s in specs.items()}
    write_text(gini_csv_path, count_last(relation.assign(dataset=dataset)).to_csv(index=False))
    gini_wide = gini_relation_wide(relation, labels)
    caption = gini_caption(dataset, n_boot, nonfinite_note(best))
    write_text(gini_md_path, f"### {caption}\n\n{to_markdown(gini_wide)}\n")

    best = best[~flagged(best)]  # an infinite bound or deviation has no place on a log axis
    plot_bound_scatter(
        best, specs, f"{dataset}: bound vs best attack deviation D* (above y = x: violation)", scatter_path
    )
    plot_bounds_vs_epsilon(best, specs, f"{dataset}: median bounds and median D* against ε", epsilon_path)
    plot_gini_vs_sensitivity(
        best, relation, specs, f"{dataset}: global Gini vs relative sensitivity, all ε pooled", gini_figure_path
    )


__all__ = ["bounds_caption", "aggregate_bounds", "read_bound_rows", "surrogate_note"]
