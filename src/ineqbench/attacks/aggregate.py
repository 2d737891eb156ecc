"""Aggregation stages of the attacks: Figure 3 and its table (noise), Table 2 and Figure 4
(occlusion), Table 3 (method ablation) and Table 4 (transferability).

Every table is computed over the data set's one selection: the first N pool images correct for every
model. The paper drew a new "correct for all models" set per script (notes, paper vs code 6); one set
keeps Tables 1 to 4 about the same images. Each caption states the attack settings, read from the
metadata of the attack outputs, so a table always says which variant (paper or released code) made it.
Attacked images with non-finite logits (and maps with a non-finite Gini, in Table 3) are counted per
model in the caption and the CSV's last column, `n_nonfinite`, and left out of the rates.
"""

from __future__ import annotations

import pandas as pd

from ineqbench.attacks.figures import plot_noise_curves
from ineqbench.attacks.settings import ATTACK_FAMILIES, NOISE_TYPES, AttackContext
from ineqbench.attacks.tables import (
    ablation_table,
    ablation_wide,
    noise_table,
    noise_wide,
    nonfinite_by_model,
    occlusion_table,
    occlusion_wide,
    selected,
    transfer_nonfinite,
    transfer_table,
    transfer_wide,
)
from ineqbench.io import read_json, read_parquet_metadata, write_text
from ineqbench.models.spec import standard_and_strongest
from ineqbench.reporting.models import specs_from_cards
from ineqbench.reporting.nonfinite import caption_note, count_last, counts_by
from ineqbench.reporting.tables import nonfinite_by_model as gini_nonfinite_by_model
from ineqbench.reporting.tables import to_latex, to_markdown


def _selection(selection_path: str, selection_info_path: str) -> tuple[set[int], dict]:
    return set(pd.read_parquet(selection_path)["pool_index"]), read_json(selection_info_path)


def _read(paths: dict[str, str], chosen: set[int], what: str) -> pd.DataFrame:
    return selected({m: pd.read_parquet(p) for m, p in paths.items()}, chosen, what)


def _settings(path: str) -> dict:
    return read_parquet_metadata(path).get("settings", {})


def _added(*counts: dict[str, int]) -> dict[str, int]:
    """Per-model counts of several frames, summed, in order of first appearance."""
    total: dict[str, int] = {}
    for part in counts:
        for model, n in part.items():
            total[model] = total.get(model, 0) + n
    return total


def _no_pairs(column: str, why: str) -> pd.DataFrame:
    """The one-cell table of Tables 3 and 4 when the data set has no pair to compare."""
    return pd.DataFrame({column: [f"(no pairs: the data set has no standard and l∞ model of one architecture, {why})"]})


def _write_tables(
    csv_path: str,
    md_path: str,
    tex_path: str,
    long: pd.DataFrame,
    wide: pd.DataFrame,
    caption: str,
    info: dict,
    label_columns: int,
    notes: str = "",
) -> None:
    count_last(long).to_csv(csv_path, index=False)
    warning = f"> WARNING: {info['warning']}\n\n" if info.get("warning") else ""
    write_text(md_path, f"{warning}### {caption}\n\n{to_markdown(wide)}\n{notes}")
    write_text(tex_path, to_latex(wide, caption, label_columns))


def aggregate_noise(
    *,
    dataset: str,
    method: str,
    rows_paths: dict[str, dict[str, str]],
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
    """Figure 3 and its table: the rows of every family that joins the noise table (`rows_paths` by
    family, then model)."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    rows = pd.concat([_read(paths, chosen, f"the {family} attack") for family, paths in rows_paths.items()])
    summary = noise_table(rows, specs, n_boot=n_boot, seed=seed)
    s = _settings(next(iter(next(iter(rows_paths.values())).values())))
    caption = (
        f"Inductive noise attack on {dataset}, {method} attributions: error rate (95% interval across "
        f"seeds when there are several); ranking {s['ranking']}, noise {s['distribution']} (sigma "
        f"{s['sigma']} in normalised units for gaussian); {info['description']}."
        f"{caption_note(nonfinite_by_model(rows), 'attacked images')}"
    )
    _write_tables(
        csv_path,
        md_path,
        tex_path,
        summary.assign(dataset=dataset, method=method),
        noise_wide(summary),
        caption,
        info,
        label_columns=3,
    )
    labels = {t: NOISE_TYPES.get(t).label for t in summary["noise_type"].unique()}
    plot_noise_curves(
        summary,
        labels,
        f"{dataset}, {method}: error rate vs noised channel-elements; {info['description']}",
        figure_path,
    )


def aggregate_occlusion(
    *,
    dataset: str,
    method: str,
    occlusion_paths: dict[str, dict[str, str]],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    """Table 2: the rows of every family that joins the occlusion table (`occlusion_paths` by family, then
    model), the attribution-guided family first; its settings make the caption."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    rows = {family: _read(paths, chosen, f"the {family} attack") for family, paths in occlusion_paths.items()}
    summary = pd.concat(
        [
            occlusion_table(frame, specs, n_boot=n_boot, seed=seed).assign(attack=family)
            for family, frame in rows.items()
        ],
        ignore_index=True,
    )
    guided, *controls = occlusion_paths
    s = _settings(next(iter(occlusion_paths[guided].values())))
    also = "".join(f"; rows marked random: {ATTACK_FAMILIES.get(f).description}" for f in controls)
    caption = (
        f"Inductive occlusion attack (Algorithm 1) on {dataset}, {method} attributions: error rate; "
        f"loop {s['loop']}, centres {s['centres']}, ranking {s['ranking']}, regions of "
        f"{s['region_size']} px{also}; {info['description']}."
        f"{caption_note(_added(*map(nonfinite_by_model, rows.values())), 'attacked images')}"
    )
    _write_tables(
        csv_path,
        md_path,
        tex_path,
        summary.assign(dataset=dataset, method=method),
        occlusion_wide(summary),
        caption,
        info,
        label_columns=3,
    )


def aggregate_ablation(
    *,
    dataset: str,
    score_paths: dict[str, dict[str, str]],
    attack_paths: dict[str, dict[str, dict[str, str]]],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    context: dict,
    transform: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    """Table 3: per attribution method, the standard vs the largest-ε model of each architecture: the
    global Gini (`score_paths` by method, then model) and every attack family's columns at its table
    budget (`attack_paths` by family, method, model; a family not guided by the maps has the same rows
    under every method)."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    models = [m.id for pair in standard_and_strongest(list(specs.values())) for m in pair]
    if not models:  # e.g. a sweep of standard models: the table says so rather than failing the run
        caption = f"Ablation over attribution methods on {dataset}; {info['description']}."
        wide = _no_pairs("Method", "so there is no standard vs l∞ comparison")
        _write_tables(csv_path, md_path, tex_path, pd.DataFrame(columns=["dataset"]), wide, caption, info, 1)
        return
    ctx = AttackContext(**context)
    gini, attacks = [], {family: [] for family in attack_paths}
    for method in score_paths:
        scores = _read({m: score_paths[method][m] for m in models}, chosen, "the Gini scores")
        gini.append(scores[scores["transform"] == transform].assign(method=method))
        for family, by_method in attack_paths.items():
            rows = _read({m: by_method[method][m] for m in models}, chosen, f"the {family} attack")
            attacks[family].append(ATTACK_FAMILIES.get(family).code.ablation_rows(rows, ctx).assign(method=method))
    attacks = {family: pd.concat(frames, ignore_index=True) for family, frames in attacks.items()}
    gini = pd.concat(gini)
    table = ablation_table(gini, attacks, {m: specs[m] for m in models}, n_boot=n_boot, seed=seed)
    left_out = _added(gini_nonfinite_by_model(gini, ["gini_global"]), *map(nonfinite_by_model, attacks.values()))
    settings = ", ".join(
        ATTACK_FAMILIES.get(family).code.ablation_caption(rows, ctx) for family, rows in attacks.items()
    )
    caption = (
        f"Ablation over attribution methods on {dataset}: global Gini ({transform}), {settings}; standard vs "
        f"the largest l∞ ε of each architecture; {info['description']}."
        f"{caption_note(left_out, 'maps or attacked images')}"
    )
    _write_tables(
        csv_path,
        md_path,
        tex_path,
        table.assign(dataset=dataset),
        ablation_wide(table, {}),
        caption,
        info,
        label_columns=3,
    )


def aggregate_transfer(
    *,
    dataset: str,
    method: str,
    transfer_paths: dict[str, dict[str, str]],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    """Table 4: attacked images made on a source model, classified by a target model (`transfer_paths`
    by source, then target)."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    frames = [
        selected({source: pd.read_parquet(path)}, chosen, f"the transfer {source} -> {target}").assign(
            source=source, target=target
        )
        for source, by_target in transfer_paths.items()
        for target, path in by_target.items()
    ]
    if not frames:
        table = pd.DataFrame(columns=["source", "target"])
        wide = _no_pairs("Source → target", "and attacks/transfer/pairs lists none")
        left_out = {}
    else:
        transfer = pd.concat(frames, ignore_index=True)
        table = transfer_table(transfer, specs)
        wide = transfer_wide(table)
        pairs = transfer.assign(pair=transfer["source"] + " → " + transfer["target"])
        left_out = counts_by(pairs, transfer_nonfinite(pairs), key="pair")
    mismatches = int(table["rebuild_mismatches"].sum()) if len(table) else 0
    caption = (
        f"Transferability on {dataset}, {method} attributions: share of the source model's successful "
        f"attacked images that also fool the target (in brackets: rate over all attacked images); "
        f"{info['description']}.{caption_note(left_out, 'attacked images')}"
    )
    notes = (
        f"\nRebuilt attacked images whose source prediction differs from the recorded one: {mismatches} "
        f"(0 means every attacked image was regenerated exactly from its stored parameters).\n"
    )
    _write_tables(
        csv_path,
        md_path,
        tex_path,
        table.assign(dataset=dataset, method=method),
        wide,
        caption,
        info,
        label_columns=1,
        notes=notes,
    )


__all__ = [
    "aggregate_ablation",
    "aggregate_noise",
    "aggregate_occlusion",
    "aggregate_transfer",
]
