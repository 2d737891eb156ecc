"""A comparison family's table (Duan et al. A.5's columns): per architecture and training, clean accuracy,
global and regional Gini, the guided occlusion error in each colour at the first budget, and Noise I and
II at the table budget, for the family's models and their plain references.

It reads the stages' tables of the table method (their columns: docs/outputs.md), so each number is the
one those tables show, over the same selected images; a row belongs to the family when one of the models
it pools is the family's."""

from __future__ import annotations

import pandas as pd

from ineqbench.families.settings import FAMILIES
from ineqbench.io import read_json, write_text
from ineqbench.reporting.nonfinite import n_suffix
from ineqbench.reporting.tables import to_latex, to_markdown

KEY = ["arch", "training"]
COLOURS = {"black": "Occ-B", "grey": "Occ-G", "white": "Occ-W"}
NOISE = {"type1": "Noise I", "type2": "Noise II"}


def _ours(frame: pd.DataFrame, models: set[str]) -> pd.DataFrame:
    return frame[frame["models"].str.split(",").map(lambda ids: bool(models & set(ids)))]


def _cells(frame: pd.DataFrame, column: str, fmt) -> pd.DataFrame:
    cells = frame.apply(lambda r: ("n/a" if r["n_images"] == 0 else fmt(r)) + n_suffix(r), axis=1)
    return frame[KEY].assign(column=column, cell=cells.to_numpy(), mean=frame["mean"].to_numpy())


def _percent(row: pd.Series) -> str:
    return f"{100 * row['mean']:.1f}%"


def _noise_rows(noise: pd.DataFrame, budget: float | int) -> pd.DataFrame:
    """The rows at the table budget: k itself, or the k whose share of C×H×W is nearest the fraction
    (the budgets of a ladder lie a factor of 2 or more apart)."""
    if isinstance(budget, int):
        return noise[noise["k"] == budget]
    share = noise["fraction_percent"] / 100
    nearest = share.iloc[(share - budget).abs().argmin()]
    return noise[share == nearest]


def family_table(
    models_csv: pd.DataFrame,
    gini: pd.DataFrame,
    occlusion: pd.DataFrame,
    noise: pd.DataFrame,
    *,
    members: list[str],
    transform: str,
    occlusion_budget: str,
    noise_budget: float | int,
    shows_sparsity: bool,
) -> pd.DataFrame:
    """The family's long table: one row per (arch, training, column), with the cell text and the mean."""
    ours = set(members)
    cards = models_csv[models_csv["model"].isin(ours)]
    clean = cards.groupby(KEY, sort=False)["clean_accuracy"].agg(["mean", "size"]).reset_index()
    parts = [clean.assign(column="Clean acc.", cell=clean["mean"].map(lambda v: f"{100 * v:.1f}%"))]
    if shows_sparsity:
        for part, name in (("weights", "Zero weights"), ("filters", "Zero filters")):
            share = cards.groupby(KEY, sort=False)[f"sparsity_{part}"].mean().reset_index(name="mean")
            parts.append(share.assign(column=name, cell=share["mean"].map(lambda v: f"{100 * v:.0f}%")))
    gini = _ours(gini[gini["transform"] == transform], ours)
    for scope in ("global", "regional"):
        rows = gini[gini["scope"] == scope]
        parts.append(_cells(rows, f"Gini {scope}", lambda r: f"{r['mean']:.2f} ± {r['std']:.2f}"))
    guided = _ours(occlusion[(occlusion["attack"] == "occlusion") & (occlusion["budget"] == occlusion_budget)], ours)
    for colour, name in COLOURS.items():
        parts.append(_cells(guided[guided["colour"] == colour], name, _percent))
    at_budget = _noise_rows(_ours(noise, ours), noise_budget)
    for noise_type, name in NOISE.items():
        parts.append(_cells(at_budget[at_budget["noise_type"] == noise_type], name, _percent))
    table = pd.concat(parts, ignore_index=True)[[*KEY, "column", "cell", "mean"]]
    order = {label: i for i, label in enumerate(dict.fromkeys(gini["training"]))}  # the Gini table's order
    return (
        table.assign(_order=table["training"].map(order).fillna(len(order)))
        .sort_values(["arch", "_order"], kind="stable")
        .drop(columns="_order")
    )


def family_wide(table: pd.DataFrame) -> pd.DataFrame:
    columns = list(dict.fromkeys(table["column"]))
    wide = table.pivot_table(index=KEY, columns="column", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=columns).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"arch": "Model", "training": "Training"})


def aggregate_family(
    *,
    dataset: str,
    family: str,
    members: list[str],
    models_path: str,
    gini_path: str,
    occlusion_path: str,
    noise_path: str,
    selection_info_path: str,
    method: str,
    transform: str,
    noise_budget: float | int,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    spec = FAMILIES.get(family)
    info = read_json(selection_info_path)
    occlusion = pd.read_csv(occlusion_path)
    budget = occlusion["budget"].iloc[0]  # the first budget of the config, Table 3's
    table = family_table(
        pd.read_csv(models_path),
        pd.read_csv(gini_path),
        occlusion,
        pd.read_csv(noise_path),
        members=members,
        transform=transform,
        occlusion_budget=budget,
        noise_budget=noise_budget,
        shows_sparsity=spec.shows_sparsity,
    )
    caption = (
        f"{spec.title} on {dataset}, {method} attributions: clean accuracy (model cards), Gini ({transform}, "
        f"mean ± std), guided occlusion at {budget} and Noise I/II at the table budget (error rates); "
        f"{info['description']}. The paper's finding: {spec.finding}."
    )
    table.assign(dataset=dataset, family=family, method=method).to_csv(csv_path, index=False)
    warning = f"> WARNING: {info['warning']}\n\n" if info.get("warning") else ""
    wide = family_wide(table)
    write_text(md_path, f"{warning}### {caption}\n\n{to_markdown(wide)}\n")
    write_text(tex_path, to_latex(wide, caption, label_columns=2))
