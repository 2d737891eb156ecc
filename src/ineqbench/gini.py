"""Gini index, vectorised over a batch in torch.

For non-negative values sorted ascending, φ_1 <= ... <= φ_n (Duan et al., Eq. 1):
    Gini = (n + 1 - 2 Σ_i (n + 1 - i) φ_i / Σ_i φ_i) / n  =  2 Σ_i i φ_i / (n Σ_i φ_i) - (n + 1) / n.
0 for a constant vector, 1 - 1/n for a one-hot. Sums run in float64: a 224x224x3 map has 150,528
terms, and float32 round-off would show in the third decimal.

An all-zero row has no defined Gini; it gets 0 (every value equal, like a constant) and
`zero_mass=True`, so the aggregation can count and exclude it instead of crashing. A row holding a NaN
or ±Inf has no Gini either: it gets NaN (never a number that looks valid) and `zero_mass=False`;
`nonfinite_rows` finds those rows, so the scores can flag them and the tables count them.
"""

from __future__ import annotations

import numpy as np
import torch


def _sort_rows(values: torch.Tensor) -> torch.Tensor:
    """Ascending sort of each row, in the input dtype (casting to float64 afterwards keeps the order).
    On the CPU numpy's SIMD sort is several times faster than torch.sort (benchmarks/bench_gini.py)."""
    if values.device.type == "cpu":
        return torch.from_numpy(np.sort(values.detach().numpy(), axis=1))
    return values.sort(dim=1).values


def nonfinite_rows(values: torch.Tensor) -> torch.Tensor:
    """(B,) bool: rows of `values` (B, ...) holding a NaN or ±Inf, whose Gini is undefined."""
    return ~torch.isfinite(values.flatten(1)).all(dim=1)


def gini(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gini of each row of `values` (B, n), all >= 0. Returns (gini float64 (B,), zero_mass bool (B,)).
    A row with a NaN or +Inf gets NaN and zero_mass False."""
    if values.dim() != 2:
        raise ValueError(f"gini expects a (batch, n) tensor, got shape {tuple(values.shape)}")
    if (values < 0).any():
        raise ValueError("gini expects non-negative values; apply a transform (abs or relu) first")
    broken = nonfinite_rows(values)
    x = _sort_rows(values).double()
    n = x.shape[1]
    total = x.sum(dim=1)
    zero_mass = (total <= 0) & ~broken
    rank = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    weighted = x @ rank  # one BLAS matrix-vector product, no (B, n) temporary
    g = 2 * weighted / (n * total.clamp_min(torch.finfo(torch.float64).tiny)) - (n + 1) / n
    g = torch.where(zero_mass, torch.zeros_like(g), g)
    return torch.where(broken, torch.full_like(g, float("nan")), g), zero_mass


def block_sums(maps: torch.Tensor, region_size: int) -> torch.Tensor:
    """Sum (B, C, H, W) over channels and over non-overlapping region_size x region_size blocks,
    flattened to (B, (H / r) * (W / r))."""
    b, _, h, w = maps.shape
    r = region_size
    if h % r or w % r:
        raise ValueError(f"region_size {r} does not divide the map size {h}x{w}")
    summed = maps.sum(dim=1)
    return summed.reshape(b, h // r, r, w // r, r).sum(dim=(2, 4)).reshape(b, -1)


def global_gini(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gini over all channel-elements of each (already non-negative) map: the paper's global Gini."""
    return gini(maps.flatten(1))


def regional_gini(maps: torch.Tensor, region_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gini over the channel-summed block sums of each (already non-negative) map."""
    return gini(block_sums(maps, region_size))
