"""The `prepare_dataset` stage: build a data set, store its splits, draw the seeded candidate pool.

The pool is a fixed, seeded sample of test images. Every per-model job works on the whole pool, and
the aggregation keeps the first N pool images that every model of a table classifies correctly; so no
per-model job depends on another model, and adding a model never changes the pool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ineqbench.data import DATASETS
from ineqbench.data.base import ImageDataset, ImageSplit
from ineqbench.io import read_npz, write_json, write_npz, write_parquet
from ineqbench.provenance import provenance


def save_split(path: str | Path, split: ImageSplit) -> None:
    arrays = {"images": split.images, "labels": split.labels}
    if split.masks is not None:
        arrays["masks"] = split.masks
    write_npz(path, **arrays)


def load_split(path: str | Path) -> ImageSplit:
    arrays = read_npz(path)
    return ImageSplit(arrays["images"], arrays["labels"], arrays.get("masks"))


def draw_pool(n_test: int, pool_size: int, seed: int) -> np.ndarray:
    """Test indices of the candidate pool, in pool order (a seeded permutation prefix)."""
    if pool_size > n_test:
        raise ValueError(f"pool_size {pool_size} exceeds the {n_test} test images")
    return np.random.default_rng(seed).permutation(n_test)[:pool_size]


def pixel_statistics(dataset: ImageDataset) -> tuple[list[float], list[float], str]:
    """Per-channel mean and std in [0, 1] pixels, and where they came from.

    From the train split when it has images; an empty train split (fetched ImageNet models are never
    trained here) would give NaN, so the builder's meta["mean"]/["std"] stand in.
    """
    if len(dataset.train):
        pixels = dataset.train.as_float()
        return pixels.mean(axis=(0, 2, 3)).tolist(), pixels.std(axis=(0, 2, 3)).tolist(), "train split"
    if "mean" not in dataset.meta or "std" not in dataset.meta:
        raise ValueError("the train split is empty and the builder's meta has no mean/std to normalise with")
    return ([float(v) for v in dataset.meta["mean"]], [float(v) for v in dataset.meta["std"]], "builder meta")


def prepare_dataset(
    *,
    builder: str,
    options: dict,
    pool_size: int,
    seed: int,
    train_path: str,
    test_path: str,
    pool_path: str,
    info_path: str,
) -> None:
    dataset = DATASETS.get(builder).build(**options)
    save_split(train_path, dataset.train)
    save_split(test_path, dataset.test)
    test_index = draw_pool(len(dataset.test), pool_size, seed)
    pool = pd.DataFrame(
        {
            "pool_index": np.arange(len(test_index)),
            "test_index": test_index,
            "label": dataset.test.labels[test_index],
        }
    )
    mean, std, normalisation = pixel_statistics(dataset)
    settings = {"builder": builder, "options": options, "pool_size": pool_size}
    write_parquet(pool_path, pool, provenance(settings, seed=seed))
    write_json(
        info_path,
        {
            "class_names": dataset.class_names,
            "image_shape": list(dataset.image_shape),
            "n_train": len(dataset.train),
            "n_test": len(dataset.test),
            "has_masks": dataset.test.masks is not None,
            "train_pixel_mean": mean,
            "train_pixel_std": std,
            "normalisation": normalisation,
            "meta": dataset.meta,
            "provenance": provenance(settings, seed=seed),
        },
    )


def load_pool_images(test_path: str | Path, pool_path: str | Path) -> tuple[pd.DataFrame, ImageSplit]:
    """The pool table and the pool's images, labels and masks, in pool order."""
    pool = pd.read_parquet(pool_path)
    return pool, load_split(test_path).take(pool["test_index"].to_numpy())
