"""Figure 4 of the attacks: the same images occluded for each model at its search's stop. Apart from
the tables (`ineqbench.attacks.aggregate`), because rebuilding the occluded images needs torch and the
tables do not."""

from __future__ import annotations

import pandas as pd
import torch

from ineqbench.attacks.figures import plot_occluded_examples
from ineqbench.attacks.occlusion import colour_label, rebuild_occluded, smallest_budget
from ineqbench.attacks.settings import AttackContext, OcclusionSettings
from ineqbench.attribution.cache import load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.io import read_json
from ineqbench.models.no_class import NO_CLASS
from ineqbench.reporting.models import specs_from_cards
from ineqbench.reporting.tables import column_label, training_key


def _figure_models(specs: dict) -> list[str]:
    order = sorted(specs, key=lambda m: (specs[m].arch, training_key(specs[m]), specs[m].seed))
    return [m for m in order if specs[m].seed == min(s.seed for s in specs.values())]


def plot_occlusion_examples(
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
    settings: dict,
    context: dict,
    n_figure_images: int,
    figure_path: str,
) -> None:
    """Figure 4: the same images occluded for each model at its search's stop (smaller budget, first
    colour), with the model's prediction; the models of the ε ladder (the comparison families have tables)."""
    specs = {m: s for m, s in specs_from_cards(card_paths).items() if m in attribution_paths and s.on_the_ladder}
    class_names = read_json(info_path)["class_names"]
    occlusion = OcclusionSettings(**settings)
    ctx = AttackContext(**context)
    budget, colour = smallest_budget(ctx.budgets), occlusion.colours[0]
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
            ctx.region_size,
            mean,
            std,
        )
        images[model] = (occluded * 255).round().clamp(0, 255).to(torch.uint8).numpy()
        captions[model] = [
            f"{'fooled' if ok else 'held'}: {'non-finite logits' if p == NO_CLASS else class_names[p]}\nn={n}, r={r}"
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
