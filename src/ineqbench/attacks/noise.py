"""Inductive noise attack (Duan et al., Sec. 3.2.1): noise on the k most important channel-elements.

    Random:  x' = x + M_rand * v    k channel-elements chosen at random (the baseline of Figure 3)
    Type I:  x' = x + M * v         M = the k channel-elements of largest attribution
    Type II: x' = (1 - M) * x + M * v   (replacement)

Units. The paper draws v ~ N(0, 1) in the model's normalised space, so the suite perturbs there:
z = (x - mean) / std, z' as above, x' = z' * std + mean, clipped to the valid pixel range [0, 1].
Type I thus adds σ * std_c in pixels, Type II writes mean_c + σ * std_c * N(0, 1). The released code
draws v uniformly on [min z, max z] of the image (scalars over all channels) and clamps z' to that
range: the `uniform` distribution. Only masked elements change; the rest stay bit-identical.

Seeding. Each image's draws come from a CPU generator seeded by (seed, pool index) through numpy's
SeedSequence, the same on every device, so an attacked image is regenerated exactly from its row:
the transfer stage does that instead of storing a second copy of the images. One noise field and
one random order per image serve every k and type (common random numbers: the curves over k differ
by the mask only, not by a new noise draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ineqbench.attacks.families import FamilyCode, positions, run_attack_family
from ineqbench.attacks.inputs import AttackInputs, concat_rows, logits_finite, predict
from ineqbench.attacks.ranking import descending_ranks
from ineqbench.attacks.settings import (
    NOISE_DISTRIBUTIONS,
    NOISE_TYPES,
    RANKINGS,
    AttackContext,
    NoiseSettings,
    noise_label,
    parse_budget,
)
from ineqbench.seeds import image_seed


@dataclass(frozen=True)
class NoiseDistribution:
    draw: Callable[[tuple[int, ...], torch.Generator], torch.Tensor]
    # (draws, normalised image, sigma) -> noise in normalised units
    values: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    clamp_to_image_range: bool
    description: str


def _image_range(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = z.flatten(1)
    shape = (-1,) + (1,) * (z.dim() - 1)
    return flat.min(1).values.view(shape), flat.max(1).values.view(shape)


def _uniform_values(u: torch.Tensor, z: torch.Tensor, sigma: float) -> torch.Tensor:
    lo, hi = _image_range(z)
    return lo + (hi - lo) * u


NOISE_DISTRIBUTIONS.add(
    "gaussian",
    NoiseDistribution(
        draw=lambda shape, g: torch.randn(shape, generator=g),
        values=lambda d, z, sigma: sigma * d,
        clamp_to_image_range=False,
        description="N(0, sigma^2) in normalised units (paper)",
    ),
)
NOISE_DISTRIBUTIONS.add(
    "uniform",
    NoiseDistribution(
        draw=lambda shape, g: torch.rand(shape, generator=g),
        values=_uniform_values,
        clamp_to_image_range=True,
        description="uniform on the image's normalised range, clamped to it (released code)",
    ),
)


def budget_count(value: int | float | str, n_elements: int) -> int:
    """k for an image of `n_elements` channel-elements: the count itself, or the rounded fraction (>= 1)."""
    parsed = parse_budget(value)
    k = parsed if isinstance(parsed, int) else max(1, round(parsed * n_elements))
    if k > n_elements:
        raise ValueError(f"noise budget {value!r} asks for {k} channel-elements; the image has {n_elements}")
    return k


def noise_seed(seed: int, pool_index: int) -> int:
    """The per-image seed of the noise draws, stable across runs, machines and devices."""
    return image_seed(seed, pool_index)


@dataclass(frozen=True)
class NoisePlan:
    """Everything needed to perturb a batch, made once and reused for every type and k."""

    x: torch.Tensor  # pixels (B, C, H, W)
    z: torch.Tensor  # the same images in normalised units
    ranked: torch.Tensor  # (B, C*H*W) rank by attribution, 0 = most important
    random: torch.Tensor  # (B, C*H*W) rank in a seeded random order
    values: torch.Tensor  # (B, C, H, W) noise in normalised units
    mean: torch.Tensor
    std: torch.Tensor
    clamp_to_image_range: bool


def plan_noise(
    x: torch.Tensor,
    maps: torch.Tensor,
    seeds: Sequence[int],
    settings: NoiseSettings,
    mean: torch.Tensor,
    std: torch.Tensor,
) -> NoisePlan:
    distribution = NOISE_DISTRIBUTIONS.get(settings.distribution)
    shape, n = tuple(x.shape[1:]), x[0].numel()
    draws, random_ranks = [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        draws.append(distribution.draw(shape, generator))
        order = torch.randperm(n, generator=generator)
        random_ranks.append(torch.empty_like(order).scatter_(0, order, torch.arange(n)))
    z = (x - mean) / std
    scores = RANKINGS.get(settings.ranking)(maps.to(x.device).float()).flatten(1)
    values = distribution.values(torch.stack(draws).to(x.device), z, settings.sigma)
    return NoisePlan(
        x,
        z,
        descending_ranks(scores),
        torch.stack(random_ranks).to(x.device),
        values,
        mean,
        std,
        distribution.clamp_to_image_range,
    )


def apply_noise(plan: NoisePlan, noise_type: str, k: int) -> torch.Tensor:
    """The attacked pixels for one type and k; unmasked elements are returned unchanged."""
    kind = NOISE_TYPES.get(noise_type)
    ranks = plan.ranked if kind.ranked else plan.random
    mask = (ranks < k).view_as(plan.x)
    z_new = plan.values if kind.replace else plan.z + plan.values
    if plan.clamp_to_image_range:
        lo, hi = _image_range(plan.z)
        z_new = torch.minimum(torch.maximum(z_new, lo), hi)
    return torch.where(mask, (z_new * plan.std + plan.mean).clamp(0, 1), plan.x)


# ---- the family: its run, the rebuild of a stored row, its rows in Tables 3 and 4 ----


@torch.no_grad()
def noise_attack(inputs: AttackInputs, settings: NoiseSettings, context: AttackContext | None = None) -> pd.DataFrame:
    """One row per (image, noise type, budget): k, the per-image seed, the new prediction, fooled, and
    whether the logits were finite (a row with NaN or Inf logits is counted, never averaged in)."""
    n_elements = int(np.prod(inputs.images.shape[1:]))
    budgets = [(str(b), budget_count(b, n_elements)) for b in settings.budgets]
    seeds = np.array([noise_seed(settings.seed, p) for p in inputs.pool_index], dtype=np.int64)
    frames = []
    for part, x, _, maps in inputs.batches(settings.batch_size):
        plan = plan_noise(x, maps, seeds[part], settings, inputs.model.mean, inputs.model.std)
        for noise_type in settings.types:
            for budget, k in budgets:
                prediction, margin = predict(inputs.model, apply_noise(plan, noise_type, k))
                frames.append(
                    pd.DataFrame(
                        {
                            "pool_index": inputs.pool_index[part],
                            "label": inputs.labels[part],
                            "noise_type": noise_type,
                            "budget": budget,
                            "k": k,
                            "fraction": k / n_elements,
                            "noise_seed": seeds[part],
                            "prediction": prediction,
                            "fooled": prediction != inputs.labels[part],
                            "margin": margin,
                            "logits_finite": logits_finite(prediction),
                        }
                    )
                )
    return concat_rows(frames)


def _transfer_rows(rows: pd.DataFrame, context: AttackContext) -> pd.DataFrame:
    """Tables 4 transfers the noise at the table budget only."""
    rows = rows[rows["budget"] == str(context.noise_budget)]
    return rows.assign(setting=rows["noise_type"], source_fooled=rows["fooled"])[
        ["pool_index", "label", "setting", "budget", "source_fooled", "prediction", "noise_seed", "k"]
    ]


def _rebuild(rows, x, maps, pool_index, settings: NoiseSettings, context, mean, std):
    """One noise field and order per image (its seed), then each (type, k) group's mask."""
    plan = plan_noise(x, maps, [noise_seed(settings.seed, p) for p in pool_index], settings, mean, std)
    return [
        (group, apply_noise(plan, noise_type, int(k))[positions(pool_index, group, x.device)])
        for (noise_type, k), group in rows.groupby(["setting", "k"], sort=False)
    ]


def _ablation_rows(rows: pd.DataFrame, context: AttackContext) -> pd.DataFrame:
    """Table 3: Noise I and II at the table budget (the random baseline is Figure 3's)."""
    rows = rows[(rows["budget"] == str(context.noise_budget)) & rows["noise_type"].isin(["type1", "type2"])]
    return rows.assign(setting=rows["noise_type"])


NOISE = FamilyCode(
    run=noise_attack,
    transfer_rows=_transfer_rows,
    rebuild=_rebuild,
    label=noise_label,
    transfer_label=lambda setting, budget: noise_label(setting),
    ablation_rows=_ablation_rows,
    ablation_caption=lambda rows, context: (
        f"noise at k = {int(rows['k'].iloc[0]) if len(rows) else 0} ({context.noise_budget} of C×H×W)"
    ),
)


def attack_noise(**job) -> None:
    """The attack_noise rule: this family on one model and method (see `run_attack_family`)."""
    run_attack_family("noise", **job)
