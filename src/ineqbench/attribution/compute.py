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
from ineqbench.attribution.methods import METHOD_KINDS, ImageDraws, MethodSpec
from ineqbench.attribution.passes import PassRunner, autocast_dtype, pass_size
from ineqbench.data.batches import pixel_batches
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.io import stable_hash
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
    first: int = 0,
    pool_indices: np.ndarray | None = None,
    precision: str = "float32",
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(start, attributions (n, C, H, W) float32 for the true labels, convergence delta (NaN if none))
    batch by batch, in pool order, from pool position `first` (a resume).

    Every random draw about an image is seeded by (seed, its pool index), `pool_indices` (default: its
    position), so a map does not depend on the batch size, the batch it lands in or a resume.
    `internal_batch_size` bounds the path points per forward + backward pass
    (`ineqbench.attribution.passes`)."""
    kind = METHOD_KINDS.get(method.kind)
    ids = np.arange(len(labels)) if pool_indices is None else np.asarray(pool_indices)
    runner = PassRunner(
        model, pass_size(internal_batch_size, images.shape[1:], device), autocast_dtype(precision, device)
    )
    batches = pixel_batches(images[first:], labels[first:], batch_size, device)
    total = -(-(len(labels) - first) // batch_size)
    for offset, x, y in tqdm(batches, total=total, desc=method.id, mininterval=10):
        start = first + offset
        draws = ImageDraws.for_pool(seed, ids[start : start + len(y)], device)
        attr, delta = kind.compute(model, x, y, method.params, runner, draws)
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
    pool_indices: np.ndarray | None = None,
    precision: str = "float32",
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
        pool_indices=pool_indices,
        precision=precision,
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
    precision: str = "float32",
    threads: int = 1,
    shard_images: int = 1000,
) -> None:
    """Attribute every pool image and write the cache shard by shard: at most `shard_images` maps (plus
    one batch) are held in memory, whatever the pool size. A killed or failed run keeps its complete
    shards; the next run with the same inputs, settings and code resumes after them (maps are seeded
    per image, so a resumed map equals an uninterrupted run's)."""
    device = select_device(threads)
    spec = MethodSpec(**method)
    model = load_model(weights_path, card_path, device)
    pool, images = load_pool_images(test_path, pool_path)
    n_images = len(images.labels)
    settings = {"method": spec.as_dict(), "batch_size": batch_size, "dtype": dtype, "precision": precision}
    meta = provenance(settings, seed=seed, inputs=[weights_path, test_path, pool_path])
    resume_key = stable_hash({k: meta[k] for k in ("code_version", "config_hash", "seed", "input_sha256")})
    with AttributionWriter(
        out_path,
        n_images=n_images,
        shape=images.images.shape[1:],
        dtype=DTYPES[dtype],
        shard_images=max(batch_size, shard_images // batch_size * batch_size),
        meta=meta,
        resume_key=resume_key,
    ) as writer:
        if writer.n_resumed:
            log.info("resuming after %d of %d maps kept from an interrupted run", writer.n_resumed, n_images)
        for _, maps, delta in iter_attributions(
            model,
            images.images,
            images.labels,
            spec,
            seed=seed,
            batch_size=batch_size,
            internal_batch_size=internal_batch_size,
            device=device,
            first=writer.n_resumed,
            pool_indices=pool["pool_index"].to_numpy(),
            precision=precision,
        ):
            writer.append(maps, convergence_delta=delta)
        writer.add(pool_index=pool["pool_index"].to_numpy(), labels=images.labels)
    if spec.kind == "integrated_gradients" and n_images:
        deltas = np.abs(load_attributions(out_path)[1]["convergence_delta"])
        log.info("IG convergence |delta|: median %.3g, max %.3g", np.median(deltas), deltas.max())
