"""Random-region occlusion: the control that Duan et al. lack. Is the attribution what makes occlusion
work, or would any N regions do?

For each image, N distinct blocks of the region grid are drawn uniformly (a seeded permutation of the
blocks, its first N; the first n of them for n < N, so the budgets nest as the ranked ones do), centred
as the ranked regions are, and then Algorithm 1's (n, r) search, stop rule and colours run unchanged
(the `occlusion` settings: colours, loop order, batching). The draw is seeded by (seed, pool index), so
an occluded image is rebuilt from its row, on any device and in any batch. No attribution is read: one
job per model, whose rows join the occlusion table of every attribution method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ineqbench.attacks.families import FamilyCode, run_attack_family
from ineqbench.attacks.inputs import AttackInputs
from ineqbench.attacks.occlusion import (
    Budget,
    colour_label,
    occlusion_ablation_rows,
    occlusion_search,
    rebuild_by_budget,
    smallest_budget,
)
from ineqbench.attacks.settings import AttackContext, RandomOcclusionSettings
from ineqbench.seeds import image_seed

RANDOM_REGIONS_STREAM = 1  # keeps this draw apart from any other seeded by the same (seed, pool index)


def occlusion_seed(seed: int, pool_index: int) -> int:
    return image_seed(seed, pool_index, RANDOM_REGIONS_STREAM)


def random_centres(seeds, count: int, region_size: int, height: int, width: int) -> torch.Tensor:
    """(B, count, 2) centres of `count` distinct blocks per image, drawn uniformly by each image's seed."""
    s = region_size
    columns = width // s
    n_blocks = (height // s) * columns
    if count > n_blocks:
        raise ValueError(f"cannot pick {count} regions among {n_blocks}; lower the budget's N")
    picks = [torch.randperm(n_blocks, generator=torch.Generator().manual_seed(int(seed)))[:count] for seed in seeds]
    top = torch.stack(picks) if picks else torch.zeros((0, count), dtype=torch.long)
    return torch.stack([(top // columns) * s + s // 2, (top % columns) * s + s // 2], dim=-1)


def random_occlusion_attack(
    inputs: AttackInputs, settings: RandomOcclusionSettings, context: AttackContext
) -> pd.DataFrame:
    seeds = np.array([occlusion_seed(settings.seed, p) for p in inputs.pool_index], dtype=np.int64)
    height, width = inputs.images.shape[2:]

    def drawn(part: slice, maps: None, count: int) -> torch.Tensor:
        return random_centres(seeds[part], count, context.region_size, height, width).to(inputs.device)

    rows = occlusion_search(
        inputs, settings.search(), [Budget(**b) for b in context.budgets], drawn, "random-region occlusion"
    )
    return rows.assign(occlusion_seed=seeds[np.searchsorted(inputs.pool_index, rows["pool_index"].to_numpy())])


def _transfer_rows(rows: pd.DataFrame, context: AttackContext) -> pd.DataFrame:
    return rows.assign(setting=rows["colour"], source_fooled=rows["success"])[
        ["pool_index", "label", "setting", "budget", "source_fooled", "prediction", "max_regions", "n", "r"]
        + ["occlusion_seed"]
    ]


def _rebuild(rows, x, maps, pool_index, settings: RandomOcclusionSettings, context, mean, std):
    height, width = x.shape[2:]

    def drawn(pick, group, regions):
        return random_centres(group["occlusion_seed"].to_numpy(), regions, context.region_size, height, width)

    return rebuild_by_budget(rows, x, pool_index, mean, std, drawn)


def random_label(colour: str) -> str:
    return f"{colour_label(colour)} random"


RANDOM_OCCLUSION = FamilyCode(
    run=random_occlusion_attack,
    transfer_rows=_transfer_rows,
    rebuild=_rebuild,
    label=random_label,
    transfer_label=lambda setting, budget: f"{random_label(setting)} ({budget})",
    ablation_rows=occlusion_ablation_rows,
    ablation_caption=lambda rows, context: f"random-region occlusion at {smallest_budget(context.budgets).label}",
)


def attack_random_occlusion(**job) -> None:
    """The attack_random_occlusion rule: this family on one model (see `run_attack_family`)."""
    run_attack_family("random_occlusion", attributions_path=None, **job)
