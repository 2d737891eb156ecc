"""Per-class inequality over the whole test split, scored as the maps go by: the same scores as attributing
everything in memory, shard by shard, and a killed job resumes after its finished shards without decoding
them again."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch

from ineqbench.attribution.compute import compute_attributions
from ineqbench.attribution.methods import resolve_methods
from ineqbench.data import imagenet_folder
from ineqbench.inequality import all_images
from ineqbench.inequality.all_images import score_all_images
from ineqbench.inequality.score import score_maps
from ineqbench.models.checkpoint import save_checkpoint
from ineqbench.models.spec import ModelSpec
from tests.helpers.data import synthetic_wnids, write_imagenet_folder
from tests.helpers.networks import conv_net

WNIDS = synthetic_wnids(3)
GEOMETRY = {"image_size": 8, "resize": 10}
SETTINGS = {"seed": 0, "batch_size": 4, "internal_batch_size": 100, "precision": "float32",
            "transforms": ["abs", "relu"], "region_size": 4, "shard_images": 5}  # fmt: skip


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("all_images")
    val, index = write_imagenet_folder(root, WNIDS, per_class=4, size=(12, 10), seed=0)
    model = conv_net(classes=3)
    record = {"spec": ModelSpec(id="m", dataset="d", arch="conv").as_dict()}
    save_checkpoint(model, root / "m.safetensors", record, root / "m.json")
    method = resolve_methods(["ixg"], {})["ixg"].as_dict()
    return {
        "root": root,
        "model": model,
        "method": method,
        "dataset": {"builder": "imagenet_folder", "options": {"root": str(val), "class_index": str(index), **GEOMETRY}},
    }


def run(job: dict, out: str, monkeypatch) -> pd.DataFrame:
    monkeypatch.setattr(all_images, "load_model", lambda weights, card, device: job["model"].to(device))
    score_all_images(
        weights_path=str(job["root"] / "m.safetensors"), card_path=str(job["root"] / "m.json"),
        dataset=job["dataset"], method=job["method"], settings=SETTINGS, shards_dir=str(job["root"] / f"{out}.shards"),
        out_path=str(job["root"] / f"{out}.parquet"),
    )  # fmt: skip
    return pd.read_parquet(job["root"] / f"{out}.parquet")


def test_streamed_scores_equal_the_scores_of_every_map_at_once(job, monkeypatch):
    streamed = run(job, "a", monkeypatch)
    n, read = imagenet_folder.reader(**job["dataset"]["options"])
    split = read(0, n)
    method = resolve_methods(["ixg"], {})["ixg"]
    maps, _ = compute_attributions(
        job["model"], split.images, split.labels, method, seed=0, batch_size=4, internal_batch_size=100,
        device=torch.device("cpu"),
    )  # fmt: skip
    expected = score_maps(maps, None, ["abs", "relu"], 4)
    assert n == 12 and len(streamed) == 2 * n
    streamed = streamed.sort_values(
        ["transform", "pool_index"], key=lambda c: c.map({"abs": 0, "relu": 1}) if c.name == "transform" else c
    )
    np.testing.assert_allclose(streamed["gini_global"], expected["gini_global"], rtol=1e-6)
    np.testing.assert_allclose(streamed["gini_regional"], expected["gini_regional"], rtol=1e-6)
    assert sorted(streamed["label"].unique()) == [0, 1, 2]


def test_a_rerun_keeps_the_finished_shards_and_scores_only_the_missing_one(job, monkeypatch):
    first = run(job, "b", monkeypatch)
    shards = sorted((job["root"] / "b.shards").glob("shard-*.parquet"))
    assert [s.name for s in shards] == ["shard-00000000.parquet", "shard-00000005.parquet", "shard-00000010.parquet"]
    stamps = {s.name: os.stat(s).st_mtime_ns for s in shards}
    shards[1].unlink()  # the job was killed while scoring the second shard
    decoded = []
    real_reader = imagenet_folder.reader

    def counting_reader(**options):
        n, read = real_reader(**options)
        return n, lambda start, count: decoded.append(start) or read(start, count)

    monkeypatch.setattr(all_images, "open_test_split", lambda builder, options: counting_reader(**options))
    again = run(job, "b", monkeypatch)
    assert decoded == [5]  # only the missing shard's images were decoded again
    assert os.stat(shards[0]).st_mtime_ns == stamps[shards[0].name]
    pd.testing.assert_frame_equal(again, first)
