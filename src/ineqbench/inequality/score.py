"""The `score_inequality` stage: per-image global and regional Gini, plus the share of attribution
mass inside the object mask where the data set has masks. One long-format Parquet per
(model, method), one row per (pool image, transform).

Columns: pool_index, label, transform, gini_global, gini_regional, mass_in_mask, zero_mass, nonfinite.

`nonfinite` marks a map that holds a NaN or ±Inf, or whose Gini came out undefined: its Gini is NaN, and
the tables count it (`n_nonfinite`) and leave it out of every mean, never averaging it in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ineqbench.attribution.cache import AttributionMaps, load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.gini import global_gini, nonfinite_rows, regional_gini
from ineqbench.inequality.transforms import TRANSFORMS
from ineqbench.io import write_parquet
from ineqbench.provenance import provenance


def mass_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of the channel-summed (non-negative) attribution mass that lies inside each mask."""
    spatial = maps.sum(dim=1).double()
    total = spatial.flatten(1).sum(1)
    inside = (spatial * masks.double()).flatten(1).sum(1)
    return torch.where(total > 0, inside / total.clamp_min(1e-300), torch.full_like(total, float("nan")))


def score_maps(
    maps: np.ndarray | AttributionMaps,
    masks: np.ndarray | None,
    transforms: list[str],
    region_size: int,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Per-image scores of `maps` (N, C, H, W) under each transform, in a long frame (transform-major).

    Each batch of maps is read once and scored under every transform, so a memory-mapped cache is
    streamed through in one pass with one batch in memory."""
    keys = ("gini_global", "gini_regional", "mass_in_mask", "zero_mass", "nonfinite")
    columns: dict[str, dict[str, list[np.ndarray]]] = {t: {k: [] for k in keys} for t in transforms}
    for start in range(0, len(maps), batch_size):
        batch = torch.from_numpy(maps[start : start + batch_size])
        mask = torch.from_numpy(masks[start : start + batch_size]) if masks is not None else None
        broken = nonfinite_rows(batch)  # of the map itself: relu would hide a -Inf
        for name in transforms:
            a = TRANSFORMS.get(name)(batch)
            g, zero = global_gini(a)
            r, _ = regional_gini(a, region_size)
            share = mass_in_mask(a, mask).numpy() if mask is not None else np.full(len(a), np.nan)
            undefined = broken | ~torch.isfinite(g) | ~torch.isfinite(r)  # e.g. block sums overflowing
            g, r = (torch.where(undefined, torch.full_like(v, float("nan")), v) for v in (g, r))
            zero &= ~undefined  # counted once, as non-finite
            for key, value in zip(keys, (g.numpy(), r.numpy(), share, zero.numpy(), undefined.numpy())):
                columns[name][key].append(value)
    frames = []
    for name in transforms:
        frame = pd.DataFrame({k: np.concatenate(v) if v else np.empty(0) for k, v in columns[name].items()})
        frame.insert(0, "transform", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def score_inequality(
    *, attributions_path: str, test_path: str, pool_path: str, transforms: list[str], region_size: int, out_path: str
) -> None:
    maps, arrays, meta = load_attributions(attributions_path)
    _, pool_images = load_pool_images(test_path, pool_path)
    scores = score_maps(maps, pool_images.masks, transforms, region_size)
    n_transforms = len(transforms)
    scores.insert(0, "pool_index", np.tile(arrays["pool_index"], n_transforms))
    scores.insert(1, "label", np.tile(arrays["labels"], n_transforms))
    settings = {"transforms": transforms, "region_size": region_size, "attribution": meta["settings"]}
    write_parquet(out_path, scores, provenance(settings, seed=meta.get("seed"), inputs=[attributions_path]))
