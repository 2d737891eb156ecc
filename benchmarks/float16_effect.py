"""Effect of caching attribution maps as float16 on the Gini index and on top-k masks.

For every cached float32 map under the given folder, round it to float16 and compare: the absolute
change of global and regional Gini (|A| transform) and the overlap of the top-k channel-element masks
(k = 1% and 5% of the elements, ties broken by index), the masks the noise attack uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ineqbench.attribution.cache import load_attributions
from ineqbench.gini import global_gini, regional_gini


def topk_overlap(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    flat_a, flat_b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    k = max(1, int(fraction * flat_a.shape[1]))
    top_a = np.argsort(-flat_a, axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-flat_b, axis=1, kind="stable")[:, :k]
    return np.array([len(np.intersect1d(x, y)) / k for x, y in zip(top_a, top_b)])


def main(folder: str, region: int = 4) -> None:
    rows = []
    for path in sorted(Path(folder).glob("*/*.npz")):
        maps = load_attributions(path)[0].to_array()
        half = maps.astype(np.float16).astype(np.float32)
        a32, a16 = torch.from_numpy(np.abs(maps)), torch.from_numpy(np.abs(half))
        dg = (global_gini(a32)[0] - global_gini(a16)[0]).abs().numpy()
        dr = (regional_gini(a32, region)[0] - regional_gini(a16, region)[0]).abs().numpy()
        o1, o5 = topk_overlap(maps, half, 0.01), topk_overlap(maps, half, 0.05)
        underflow = float(((maps != 0) & (half == 0)).mean())
        rows.append((path.parent.name, path.stem, dg.max(), dr.max(), o1.mean(), o1.min(), o5.mean(), underflow))
    print(
        "| model | method | max abs ΔGini global | max abs ΔGini regional | top-1% overlap mean (min) | "
        "top-5% overlap mean | share of non-zeros flushed to 0 |"
    )
    print("|---|---|---|---|---|---|---|")
    for model, method, dg, dr, o1, o1min, o5, uf in rows:
        print(f"| {model} | {method} | {dg:.1e} | {dr:.1e} | {o1:.4f} ({o1min:.3f}) | {o5:.4f} | {uf:.1e} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/default/synthetic_shapes/attributions")
