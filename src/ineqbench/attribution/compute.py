"""The `attribute` stage: batched attribution maps of one model and one method over the pool, cached
as NPZ with every parameter and the provenance recorded."""

from __future__ import annotations

import json
import logging

import numpy as np
import torch
from tqdm.auto import tqdm

from ineqbench.attribution.methods import METHOD_KINDS, MethodSpec
from ineqbench.data.base import pixel_batches
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.io import read_npz, write_npz
from ineqbench.models.checkpoint import load_model
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)

DTYPES = {"float32": np.float32, "float16": np.float16}


def compute_attributions(model, images: np.ndarray, labels: np.ndarray, method: MethodSpec, *, seed: int,
                         batch_size: int, internal_batch_size: int, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Attributions (N, C, H, W) float32 for the true labels, and the convergence delta (NaN if none).

    Stochastic methods are seeded per batch from (seed, batch start), so a map is reproducible for
    a given seed and batch size (both recorded in the cache). numpy is seeded too: captum's
    GradientShap draws its path positions from numpy's global generator."""
    kind = METHOD_KINDS.get(method.kind)
    maps, deltas = [], []
    batches = pixel_batches(images, labels, batch_size, device)
    for start, x, y in tqdm(batches, total=-(-len(labels) // batch_size), desc=method.id, mininterval=10):
        batch_seed = (seed * 1_000_003 + start) % 2**32
        torch.manual_seed(batch_seed)
        np.random.seed(batch_seed)
        attr, delta = kind.compute(model, x, y, method.params, max(internal_batch_size, len(y)))
        maps.append(attr.detach().float().cpu().numpy())
        deltas.append(np.full(len(y), np.nan, np.float32) if delta is None else delta.detach().float().cpu().numpy())
    return np.concatenate(maps), np.concatenate(deltas)


def attribute_job(*, weights_path: str, card_path: str, test_path: str, pool_path: str, method: dict,
                  seed: int, batch_size: int, internal_batch_size: int, dtype: str, out_path: str,
                  threads: int = 1) -> None:
    device = select_device(threads)
    spec = MethodSpec(**method)
    model = load_model(weights_path, card_path, device)
    pool, images = load_pool_images(test_path, pool_path)
    maps, deltas = compute_attributions(model, images.images, images.labels, spec, seed=seed,
                                        batch_size=batch_size, internal_batch_size=internal_batch_size,
                                        device=device)
    if spec.kind == "integrated_gradients":
        log.info("IG convergence |delta|: median %.3g, max %.3g", np.median(np.abs(deltas)), np.abs(deltas).max())
    settings = {"method": spec.as_dict(), "batch_size": batch_size, "dtype": dtype}
    meta = provenance(settings, seed=seed, inputs=[weights_path])
    write_npz(out_path, attributions=maps.astype(DTYPES[dtype]), pool_index=pool["pool_index"].to_numpy(),
              labels=images.labels, convergence_delta=deltas, meta=np.array(json.dumps(meta)))


def load_attributions(path: str) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """(maps as float32, the other arrays, the metadata dict)."""
    arrays = read_npz(path)
    meta = json.loads(str(arrays.pop("meta")))
    return arrays.pop("attributions").astype(np.float32), arrays, meta
