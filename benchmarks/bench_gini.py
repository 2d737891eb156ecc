"""Vectorised torch Gini (batch) against a per-image numpy reference, on the same maps.

Reports the speed-up ratio and the largest absolute difference; sizes: CIFAR-like 3x32x32 and
ImageNet-like 3x224x224 maps.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ineqbench.gini import global_gini, regional_gini


def reference_gini(values: np.ndarray) -> float:
    """The paper's formula, one image at a time (ascending sort)."""
    phi = np.sort(values.astype(np.float64))
    n = len(phi)
    i = np.arange(1, n + 1)
    return float((n + 1 - 2 * np.sum((n + 1 - i) * phi) / phi.sum()) / n)


def reference_regional(a: np.ndarray, r: int) -> float:
    c, h, w = a.shape
    blocks = a.sum(0).reshape(h // r, r, w // r, r).sum(axis=(1, 3))
    return reference_gini(blocks.ravel())


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    for size, batch, region in ((32, 1000, 4), (224, 64, 16)):
        maps = np.abs(rng.standard_normal((batch, 3, size, size)).astype(np.float32)) ** 3
        tensor = torch.from_numpy(maps)
        t_vec = timed(lambda tensor=tensor, region=region: (global_gini(tensor), regional_gini(tensor, region)))
        t_ref = timed(
            lambda maps=maps, region=region: [(reference_gini(m.ravel()), reference_regional(m, region)) for m in maps],
            repeats=1,
        )
        g_vec = global_gini(tensor)[0].numpy()
        r_vec = regional_gini(tensor, region)[0].numpy()
        g_ref = np.array([reference_gini(m.ravel()) for m in maps])
        r_ref = np.array([reference_regional(m, region) for m in maps])
        diff = max(np.abs(g_vec - g_ref).max(), np.abs(r_vec - r_ref).max())
        print(
            f"{batch} maps of 3x{size}x{size}: vectorised {t_vec * 1e3:.1f} ms, per-image reference "
            f"{t_ref * 1e3:.1f} ms, speed-up x{t_ref / t_vec:.1f}, max |difference| {diff:.2e}"
        )


if __name__ == "__main__":
    main()
