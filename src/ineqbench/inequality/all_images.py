"""The `score_all_images` stage: the Gini index of one model's maps over the whole test split (A.7 averages
all 50,000 ImageNet validation images, correctly classified or not), computed as the maps go by.

Nothing grows with the number of images: the split is read and decoded a shard at a time
(`ineqbench.data.stream`), each batch of maps is scored and dropped, and each shard's scores are written
to a Parquet file of their own, atomically, with a key of what made them (code, settings, inputs). A
killed job keeps its finished shards; the rerun skips every shard whose key matches and decodes nothing
of it. Maps are seeded per image (by its position in the split), so a resumed shard equals an
uninterrupted run's. The output is the shards' rows in order, with the per-pool-image columns of
`score_inequality` (`pool_index` holding the position in the split).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ineqbench.attribution.compute import iter_attributions
from ineqbench.attribution.methods import MethodSpec
from ineqbench.data.stream import open_test_split
from ineqbench.device import select_device
from ineqbench.inequality.score import score_maps
from ineqbench.io import read_parquet_metadata, stable_hash, write_parquet
from ineqbench.models.checkpoint import load_model
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)
KEY = "ineqbench_shard_key"


def _shard_path(folder: Path, start: int) -> Path:
    return folder / f"shard-{start:08d}.parquet"


def _finished(path: Path, key: str) -> bool:
    """A shard written by this very job's settings, code and inputs (another key: written again)."""
    if not path.exists():
        return False
    try:
        return read_parquet_metadata(path).get(KEY) == key
    except (OSError, ValueError):  # a truncated file: written again
        return False


def score_shard(model, split, first: int, spec: MethodSpec, settings: dict, device) -> pd.DataFrame:
    """Scores of one shard's images, batch by batch (one batch of maps in memory)."""
    frames = []
    for start, maps, _ in iter_attributions(
        model,
        split.images,
        split.labels,
        spec,
        seed=settings["seed"],
        batch_size=settings["batch_size"],
        internal_batch_size=settings["internal_batch_size"],
        device=device,
        pool_indices=first + np.arange(len(split)),
        precision=settings["precision"],
    ):
        scores = score_maps(maps, None, settings["transforms"], settings["region_size"])
        n = len(maps)
        scores.insert(0, "pool_index", np.tile(first + start + np.arange(n), len(settings["transforms"])))
        scores.insert(1, "label", np.tile(split.labels[start : start + n], len(settings["transforms"])))
        frames.append(scores)
    return pd.concat(frames, ignore_index=True)


def score_all_images(
    *,
    weights_path: str,
    card_path: str,
    dataset: dict,
    method: dict,
    settings: dict,
    shards_dir: str,
    out_path: str,
    threads: int = 1,
) -> None:
    """`dataset`: the builder and its options; `settings`: seed, batch_size, internal_batch_size, precision,
    transforms, region_size and shard_images."""
    device = select_device(threads)
    spec = MethodSpec(**method)
    model = load_model(weights_path, card_path, device)
    folder = Path(shards_dir)
    folder.mkdir(parents=True, exist_ok=True)
    meta = provenance({"method": spec.as_dict(), "dataset": dataset, **settings}, seed=settings["seed"],
                      inputs=[weights_path])  # fmt: skip
    key = stable_hash({k: meta[k] for k in ("code_version", "config_hash", "seed", "input_sha256")})
    chunk = settings["shard_images"]
    n, read = open_test_split(dataset["builder"], dataset["options"])
    starts = list(range(0, n, chunk))
    todo = [s for s in starts if not _finished(_shard_path(folder, s), key)]
    log.info("%d images in %d shards; %d to score", n, len(starts), len(todo))
    for start in todo:  # a finished shard's images are never decoded again
        split = read(start, chunk)
        scores = score_shard(model, split, start, spec, settings, device)
        write_parquet(_shard_path(folder, start), scores, {KEY: key})
        log.info("shard at %d: %d images scored", start, len(split))
    frame = pd.concat([pd.read_parquet(_shard_path(folder, s)) for s in starts], ignore_index=True)
    write_parquet(out_path, frame, meta)
