"""The `attribute` stage: batched attribution maps of one model and one method over the pool, streamed
into the sharded attribution cache (`ineqbench.attribution.cache`) with every parameter and the
provenance recorded."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from ineqbench.attribution.cache import AttributionMaps, AttributionWriter, load_attributions
from ineqbench.attribution.methods import METHOD_KINDS, MethodSpec
from ineqbench.data.base import pixel_batches
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.models.checkpoint import load_model
from ineqbench.provenance import provenance

__all__ = ["AttributionMaps", "attribute", "compute_attributions", "iter_attributions", "load_attributions"]

log = logging.getLogger(__name__)

DTYPES = {"float32": np.float32, "float16": np.float16}


def iter_attributions(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    method: MethodSpec,
    *,
    seed: int,
    batch_size: int,
    internal_batch_size: int,
    device: torch.device,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(start, attributions (n, C, H, W) float32 for the true labels, convergence delta (NaN if none))
    batch by batch, in pool order.

    Stochastic methods are seeded per batch from (seed, batch start), so a map is reproducible for
    a given seed and batch size (both recorded in the cache). numpy is seeded too: captum's
    GradientShap draws its path positions from numpy's global generator."""
    kind = METHOD_KINDS.get(method.kind)
    batches = pixel_batches(images, labels, batch_size, device)
    for start, x, y in tqdm(batches, total=-(-len(labels) // batch_size), desc=method.id, mininterval=10):
        batch_seed = (seed * 1_000_003 + start) % 2**32
        torch.manual_seed(batch_seed)
        np.random.seed(batch_seed)
        attr, delta = kind.compute(model, x, y, method.params, max(internal_batch_size, len(y)))
        yield (
            start,
            attr.detach().float().cpu().numpy(),
            np.full(len(y), np.nan, np.float32) if delta is None else delta.detach().float().cpu().numpy(),
        )


def compute_attributions(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    method: MethodSpec,
    *,
    seed: int,
    batch_size: int,
    internal_batch_size: int,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    """Attributions (N, C, H, W) float32 for the true labels, and the convergence delta (NaN if none),
    all in memory (the job streams them into the cache instead: `iter_attributions`)."""
    maps, deltas = [], []
    for _, attr, delta in iter_attributions(
        model,
        images,
        labels,
        method,
        seed=seed,
        batch_size=batch_size,
        internal_batch_size=internal_batch_size,
        device=device,
    ):
        maps.append(attr)
        deltas.append(delta)
    if not maps:
        return np.empty((0, *images.shape[1:]), np.float32), np.empty(0, np.float32)
    return np.concatenate(maps), np.concatenate(deltas)


def attribute(
    *,
    weights_path: str,
    card_path: str,
    test_path: str,
    pool_path: str,
    method: dict,
    seed: int,
    batch_size: int,
    internal_batch_size: int,
    dtype: str,
    out_path: str,
    threads: int = 1,
    shard_images: int = 1000,
) -> None:
    """Attribute every pool image and write the cache shard by shard: at most `shard_images` maps (plus
    one batch) are held in memory, whatever the pool size."""
    device = select_device(threads)
    spec = MethodSpec(**method)
    model = load_model(weights_path, card_path, device)
    pool, images = load_pool_images(test_path, pool_path)
    n_images = len(images.labels)
    deltas = np.full(n_images, np.nan, np.float32)
    settings = {"method": spec.as_dict(), "batch_size": batch_size, "dtype": dtype}
    with AttributionWriter(
        out_path, n_images=n_images, shape=images.images.shape[1:], dtype=DTYPES[dtype], shard_images=shard_images
    ) as writer:
        for start, maps, delta in iter_attributions(
            model,
            images.images,
            images.labels,
            spec,
            seed=seed,
            batch_size=batch_size,
            internal_batch_size=internal_batch_size,
            device=device,
        ):
            writer.append(maps)
            deltas[start : start + len(delta)] = delta
        if spec.kind == "integrated_gradients" and n_images:
            log.info("IG convergence |delta|: median %.3g, max %.3g", np.median(np.abs(deltas)), np.abs(deltas).max())
        writer.add(pool_index=pool["pool_index"].to_numpy(), labels=images.labels, convergence_delta=deltas)
        writer.meta = provenance(settings, seed=seed, inputs=[weights_path])
