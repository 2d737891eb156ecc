"""Aggregation stages of the attacks: Figure 3 and its table (noise), Table 2 and Figure 4
(occlusion), Table 3 (method ablation) and Table 4 (transferability).

Every table is computed over the data set's one selection: the first N pool images correct for every
model. The paper drew a new "correct for all models" set per script (notes, paper vs code 6); one set
keeps Tables 1 to 4 about the same images. Each caption states the attack settings, read from the
metadata of the attack outputs, so a table always says which variant (paper or released code) made it.
"""

from __future__ import annotations

import pandas as pd
import torch

from ineqbench.attacks.noise import NOISE_TYPES
from ineqbench.attacks.occlusion import Budget, OcclusionSettings, rebuild_occluded
from ineqbench.attribution.cache import load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.io import read_json, read_parquet_metadata, write_text
from ineqbench.models.spec import standard_and_strongest
from ineqbench.reporting.aggregate_job import specs_from_cards
from ineqbench.reporting.attack_tables import (
    ablation_table,
    ablation_wide,
    colour_label,
    noise_table,
    noise_wide,
    occlusion_table,
    occlusion_wide,
    selected,
    transfer_table,
    transfer_wide,
)
from ineqbench.reporting.figures import plot_noise_curves, plot_occluded_examples
from ineqbench.reporting.tables import column_label, to_latex, to_markdown, training_key


def _selection(selection_path: str, selection_info_path: str) -> tuple[set[int], dict]:
    return set(pd.read_parquet(selection_path)["pool_index"]), read_json(selection_info_path)


def _read(paths: dict[str, str], chosen: set[int], what: str) -> pd.DataFrame:
    return selected({m: pd.read_parquet(p) for m, p in paths.items()}, chosen, what)


def _settings(path: str) -> dict:
    return read_parquet_metadata(path).get("settings", {})


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
    long.to_csv(csv_path, index=False)
    warning = f"> WARNING: {info['warning']}\n\n" if info.get("warning") else ""
    write_text(md_path, f"{warning}### {caption}\n\n{to_markdown(wide)}\n{notes}")
    write_text(tex_path, to_latex(wide, caption, label_columns))


def noise_table_job(
    *,
    dataset: str,
    method: str,
    noise_paths: dict[str, str],
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
    chosen, info = _selection(selection_path, selection_info_path)
    summary = noise_table(_read(noise_paths, chosen, "the noise attack"), specs, n_boot=n_boot, seed=seed)
    s = _settings(next(iter(noise_paths.values())))
    caption = (
        f"Inductive noise attack on {dataset}, {method} attributions: error rate (95% interval across "
        f"seeds when there are several); ranking {s['ranking']}, noise {s['distribution']} (sigma "
        f"{s['sigma']} in normalised units for gaussian); {info['description']}."
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


def occlusion_table_job(
    *,
    dataset: str,
    method: str,
    occlusion_paths: dict[str, str],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    summary = occlusion_table(_read(occlusion_paths, chosen, "the occlusion attack"), specs, n_boot=n_boot, seed=seed)
    s = _settings(next(iter(occlusion_paths.values())))
    caption = (
        f"Inductive occlusion attack (Algorithm 1) on {dataset}, {method} attributions: error rate; "
        f"loop {s['loop']}, centres {s['centres']}, ranking {s['ranking']}, regions of "
        f"{s['region_size']} px; {info['description']}."
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


def smallest_budget(budgets: list[dict]) -> Budget:
    """The budget of Table 3 (the paper used its smaller one, N=5, R=10)."""
    return min((Budget(**b) for b in budgets), key=lambda b: (b.regions * b.radius, b.regions))


def _figure_models(specs: dict) -> list[str]:
    order = sorted(specs, key=lambda m: (specs[m].arch, training_key(specs[m]), specs[m].seed))
    return [m for m in order if specs[m].seed == min(s.seed for s in specs.values())]


def occlusion_figure_job(
    *,
    dataset: str,
    method: str,
    occlusion_paths: dict[str, str],
    attribution_paths: dict[str, str],
    card_paths: dict[str, str],
    selection_path: str,
    info_path: str,
    test_path: str,
    pool_path: str,
    budgets: list[dict],
    region_size: int,
    settings: dict,
    n_figure_images: int,
    figure_path: str,
) -> None:
    """Figure 4: the same images occluded for each model at its search's stop (smaller budget, first
    colour), with the model's prediction."""
    specs = specs_from_cards(card_paths)
    class_names = read_json(info_path)["class_names"]
    occlusion = OcclusionSettings(**settings)
    budget, colour = smallest_budget(budgets), occlusion.colours[0]
    chosen = pd.read_parquet(selection_path)["pool_index"].to_numpy()[:n_figure_images]
    _, pool_images = load_pool_images(test_path, pool_path)
    x = torch.from_numpy(pool_images.images[chosen]).float() / 255
    images, captions, titles = {}, {}, {}
    for model in _figure_models(specs):
        card = read_json(card_paths[model])
        maps, arrays, _ = load_attributions(attribution_paths[model])
        position = {p: i for i, p in enumerate(arrays["pool_index"])}
        rows = pd.read_parquet(occlusion_paths[model])
        rows = rows[(rows["budget"] == budget.label) & (rows["colour"] == colour)].set_index("pool_index").loc[chosen]
        mean, std = (torch.tensor(card[k]).view(1, -1, 1, 1) for k in ("mean", "std"))
        occluded = rebuild_occluded(
            x,
            torch.from_numpy(maps[[position[p] for p in chosen]]),
            budget.regions,
            colour,
            torch.tensor(rows["n"].to_numpy()),
            torch.tensor(rows["r"].to_numpy()),
            occlusion,
            region_size,
            mean,
            std,
        )
        images[model] = (occluded * 255).round().clamp(0, 255).to(torch.uint8).numpy()
        captions[model] = [
            f"{'fooled' if ok else 'held'}: {class_names[p]}\nn={n}, r={r}"
            for ok, p, n, r in zip(rows["success"], rows["prediction"], rows["n"], rows["r"])
        ]
        titles[model] = f"{specs[model].arch}\n{column_label(specs[model])}"
    plot_occluded_examples(
        images,
        captions,
        titles,
        figure_path,
        f"{dataset}, {method}: {colour_label(colour)} occlusion at {budget.label}, stopped at the "
        f"first (n, r) that fools the model (true: {', '.join(class_names[i] for i in pool_images.labels[chosen])})",
    )


def ablation_job(
    *,
    dataset: str,
    score_paths: dict[str, dict[str, str]],
    noise_paths: dict[str, dict[str, str]],
    occlusion_paths: dict[str, dict[str, str]],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    noise_budget: str,
    budgets: list[dict],
    transform: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    """Table 3: per attribution method, the standard vs the largest-ε model of each architecture."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    models = [m.id for pair in standard_and_strongest(list(specs.values())) for m in pair]
    budget = smallest_budget(budgets)
    gini, noise, occlusion = [], [], []
    for method in score_paths:
        scores = _read({m: score_paths[method][m] for m in models}, chosen, "the Gini scores")
        gini.append(scores[scores["transform"] == transform].assign(method=method))
        rows = _read({m: noise_paths[method][m] for m in models}, chosen, "the noise attack")
        noise.append(
            rows[(rows["budget"] == str(noise_budget)) & rows["noise_type"].isin(["type1", "type2"])].assign(
                method=method
            )
        )
        rows = _read({m: occlusion_paths[method][m] for m in models}, chosen, "the occlusion attack")
        occlusion.append(rows[rows["budget"] == budget.label].assign(method=method))
    table = ablation_table(
        pd.concat(gini), pd.concat(noise), pd.concat(occlusion), {m: specs[m] for m in models}, n_boot=n_boot, seed=seed
    )
    k = int(noise[0]["k"].iloc[0]) if len(noise[0]) else 0
    caption = (
        f"Ablation over attribution methods on {dataset}: global Gini ({transform}), noise at k = {k} "
        f"({noise_budget} of C×H×W), occlusion at {budget.label}; standard vs the largest l∞ ε of each "
        f"architecture; {info['description']}."
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


def transfer_table_job(
    *,
    dataset: str,
    method: str,
    transfer_paths: list[str],
    pairs: list[tuple[str, str]],
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    csv_path: str,
    md_path: str,
    tex_path: str,
) -> None:
    """Table 4: attacked images made on a source model, classified by a target model."""
    specs = specs_from_cards(card_paths)
    chosen, info = _selection(selection_path, selection_info_path)
    frames = [
        selected({source: pd.read_parquet(path)}, chosen, f"the transfer {source} -> {target}").assign(
            source=source, target=target
        )
        for (source, target), path in zip(pairs, transfer_paths)
    ]
    if not frames:
        table = pd.DataFrame(columns=["source", "target"])
        wide = pd.DataFrame(
            {
                "Source → target": [
                    "(no pairs: the data set has no standard and l∞ model of one "
                    "architecture, and attacks/transfer/pairs lists none)"
                ]
            }
        )
    else:
        table = transfer_table(pd.concat(frames, ignore_index=True), specs)
        wide = transfer_wide(table)
    mismatches = int(table["rebuild_mismatches"].sum()) if len(table) else 0
    caption = (
        f"Transferability on {dataset}, {method} attributions: share of the source model's successful "
        f"attacked images that also fool the target (in brackets: rate over all attacked images); "
        f"{info['description']}."
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
    "ablation_job",
    "noise_table_job",
    "occlusion_figure_job",
    "occlusion_table_job",
    "smallest_budget",
    "transfer_table_job",
]
