"""The sharded, memory-mapped attribution cache: round trips, every indexing form, the zip layout,
legacy np.savez caches, and atomic writing."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ineqbench.attribution.cache import AttributionMaps, AttributionWriter, load_attributions

N, SHAPE, SHARD = 23, (3, 4, 5), 5
META = {"settings": {"method": {"id": "ig"}}, "seed": 3}


def reference(dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, *SHAPE)).astype(dtype)


def small_arrays() -> dict[str, np.ndarray]:
    return {
        "pool_index": np.arange(N) * 7,
        "labels": np.arange(N) % 4,
        "convergence_delta": np.linspace(-1, 1, N).astype(np.float32),
    }


def write(path, maps: np.ndarray, batches=(3, 7, 1, 12), shard_images: int = SHARD) -> None:
    """`maps` appended in uneven batches that cross the shard boundaries."""
    with AttributionWriter(
        path, n_images=len(maps), shape=maps.shape[1:], dtype=maps.dtype, shard_images=shard_images, meta=META
    ) as writer:
        start = 0
        for size in batches:
            writer.append(maps[start : start + size].astype(np.float32))
            start += size
        assert start == len(maps)
        writer.add(**small_arrays())


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_round_trip_over_uneven_shards_with_every_index_form(tmp_path, dtype):
    stored = reference(dtype)
    expected = stored.astype(np.float32)
    path = tmp_path / "ig.npz"
    write(path, stored)
    maps, arrays, meta = load_attributions(path)
    assert isinstance(maps, AttributionMaps)
    assert len(maps) == N and maps.shape == (N, *SHAPE) and maps.ndim == 4 and maps.dtype == dtype
    assert meta == META
    for name, value in small_arrays().items():
        np.testing.assert_array_equal(arrays[name], value)
    assert set(arrays) == set(small_arrays())
    rng = np.random.default_rng(1)
    mask = rng.random(N) < 0.4
    keys = [
        0,
        4,
        5,
        22,
        -1,
        -23,
        np.int64(9),
        slice(None),
        slice(3, 17),
        slice(4, 6),
        slice(None, None, -3),
        slice(20, 2, -2),
        slice(30, 40),
        mask,
        np.zeros(N, bool),
        [22, 0, 5, 5, 11],
        np.array([-1, 3, 10, 4]),
        np.array([], dtype=np.int64),
        [],
        rng.permutation(N),
    ]
    for key in keys:
        got = maps[key]
        assert got.dtype == np.float32 and isinstance(got, np.ndarray) and not isinstance(got, np.memmap)
        np.testing.assert_array_equal(got, expected[key], err_msg=repr(key))
    np.testing.assert_array_equal(maps[2, 1], expected[2, 1])
    np.testing.assert_array_equal(maps[3:9, :, 1:3], expected[3:9, :, 1:3])
    np.testing.assert_array_equal(maps.to_array(), expected)
    np.testing.assert_array_equal(np.asarray(maps), expected)
    batches = list(maps.iter_batches(4))
    assert [start for start, _ in batches] == list(range(0, N, 4))
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), expected)
    assert all(b.dtype == np.float32 for _, b in batches)


def test_out_of_range_and_unsupported_indices_raise(tmp_path):
    write(tmp_path / "m.npz", reference())
    maps = load_attributions(tmp_path / "m.npz")[0]
    for key in (N, -N - 1, [0, N], np.ones(N - 1, bool), 1.5, np.zeros((2, 2), int)):
        with pytest.raises(IndexError):
            maps[key]
    assert len(list(iter(maps))) == N  # plain iteration stops at the end


def test_select_is_a_lazy_view_of_rows(tmp_path):
    expected = reference()
    write(tmp_path / "m.npz", expected)
    maps = load_attributions(tmp_path / "m.npz")[0]
    keep = np.arange(N) % 3 != 1
    view = maps.select(keep)
    assert len(view) == keep.sum() and view.shards[0] is maps.shards[0]
    np.testing.assert_array_equal(view[:], expected[keep])
    np.testing.assert_array_equal(view[2:9], expected[keep][2:9])
    np.testing.assert_array_equal(view.select([4, 0])[:], expected[keep][[4, 0]])
    with pytest.raises(IndexError):
        maps.select(3)


def test_file_is_a_plain_stored_npz_with_the_documented_members(tmp_path):
    stored = reference(np.float16)
    path = tmp_path / "ig.npz"
    write(path, stored)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    shards = [f"attributions_{start:07d}.npy" for start in (0, 5, 10, 15, 20)]
    assert [i.filename for i in infos] == [*shards, "pool_index.npy", "labels.npy", "convergence_delta.npy", "meta.npy"]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    with np.load(path, allow_pickle=False) as f:
        assert f.files == [s[:-4] for s in shards] + ["pool_index", "labels", "convergence_delta", "meta"]
        for start in (0, 5, 10, 15, 20):
            shard = f[f"attributions_{start:07d}"]
            assert shard.dtype == np.float16
            np.testing.assert_array_equal(shard, stored[start : start + SHARD])
        assert json.loads(str(f["meta"])) == META
        np.testing.assert_array_equal(f["labels"], small_arrays()["labels"])


def test_shards_are_memory_mapped_in_place(tmp_path):
    stored = reference()
    path = tmp_path / "ig.npz"
    write(path, stored)
    maps = load_attributions(path)[0]
    assert len(maps.shards) == 5 and [len(s) for s in maps.shards] == [5, 5, 5, 5, 3]
    for shard in maps.shards:
        assert isinstance(shard, np.memmap) and Path(shard.filename) == path.resolve() and shard.mode == "r"
    # the first shard's bytes lie in the file exactly where the memmap points
    raw = path.read_bytes()
    first = maps.shards[0]
    assert raw[first.offset : first.offset + first.nbytes] == stored[:SHARD].tobytes()


def test_a_single_shard_when_the_pool_fits(tmp_path):
    stored = reference()
    write(tmp_path / "m.npz", stored, batches=(N,), shard_images=1000)
    maps = load_attributions(tmp_path / "m.npz")[0]
    assert len(maps.shards) == 1 and isinstance(maps.shards[0], np.memmap)
    np.testing.assert_array_equal(maps[:], stored)


def test_legacy_single_member_caches_still_load(tmp_path):
    stored = reference(np.float16)
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, attributions=stored, meta=np.array(json.dumps(META)), **small_arrays())
        maps, arrays, meta = load_attributions(path)
        assert meta == META and set(arrays) == set(small_arrays())
        assert maps.shape == stored.shape and maps.dtype == np.float16 and len(maps.shards) == 1
        # stored members are memory-mapped, compressed ones (not written by ineqbench) read into memory
        assert isinstance(maps.shards[0], np.memmap) == (save is np.savez)
        np.testing.assert_array_equal(maps[[3, 1]], stored[[3, 1]].astype(np.float32))
        np.testing.assert_array_equal(maps.to_array(), stored.astype(np.float32))


def test_a_failure_inside_the_writer_leaves_nothing(tmp_path):
    path = tmp_path / "out" / "ig.npz"
    with pytest.raises(RuntimeError, match="killed"):
        with AttributionWriter(path, n_images=N, shape=SHAPE, dtype=np.float32, shard_images=SHARD) as writer:
            writer.append(reference()[:12])  # two shards already written to the temporary file
            raise RuntimeError("killed")
    assert list(path.parent.iterdir()) == []


def interrupted(path, key: str, n_maps: int) -> None:
    """A resumable writer that dies after `n_maps` maps."""
    with pytest.raises(RuntimeError, match="killed"):
        with AttributionWriter(
            path, n_images=N, shape=SHAPE, dtype=np.float32, shard_images=SHARD, resume_key=key
        ) as w:
            w.append(reference()[:n_maps], convergence_delta=small_arrays()["convergence_delta"][:n_maps])
            raise RuntimeError("killed")


def finish(path, key: str) -> int:
    """A resumable writer that appends the maps its predecessor did not keep; returns how many it kept."""
    with AttributionWriter(
        path, n_images=N, shape=SHAPE, dtype=np.float32, shard_images=SHARD, resume_key=key, meta=META
    ) as writer:
        kept = writer.n_resumed
        writer.append(reference()[kept:], convergence_delta=small_arrays()["convergence_delta"][kept:])
        writer.add(pool_index=small_arrays()["pool_index"], labels=small_arrays()["labels"])
    return kept


def test_a_killed_writer_keeps_its_complete_shards_and_the_next_resumes_after_them(tmp_path):
    path = tmp_path / "ig.npz"
    interrupted(path, "k", 12)  # two complete shards of 5, two maps of a partial one
    staging = tmp_path / ".ig.npz.partial"
    assert not path.exists() and sorted(p.name for p in staging.glob("attributions_*")) == [
        "attributions_0000000.npy",
        "attributions_0000005.npy",
    ]
    (staging / ".attributions_0000010.npy.x.npy").write_bytes(b"half")  # a temporary a SIGKILL left
    assert finish(path, "k") == 10
    assert list(tmp_path.iterdir()) == [path]  # the staging folder is gone
    write(tmp_path / "whole.npz", reference())
    maps, arrays, meta = load_attributions(path)
    np.testing.assert_array_equal(maps.to_array(), load_attributions(tmp_path / "whole.npz")[0].to_array())
    for name, value in small_arrays().items():
        np.testing.assert_array_equal(arrays[name], value)
    assert meta == META


def test_a_damaged_shard_or_another_key_is_not_resumed(tmp_path):
    path = tmp_path / "ig.npz"
    interrupted(path, "k", 16)
    shard = tmp_path / ".ig.npz.partial" / "attributions_0000005.npy"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert finish(path, "k") == 5  # the first shard is intact; everything from the damaged one is redone
    np.testing.assert_array_equal(load_attributions(path)[0].to_array(), reference())
    path.unlink()
    interrupted(path, "k", 16)
    assert finish(path, "other settings") == 0


def test_a_short_or_misshapen_append_fails_and_leaves_nothing(tmp_path):
    path = tmp_path / "ig.npz"
    with pytest.raises(ValueError, match="12 maps appended, 23 announced"):
        with AttributionWriter(path, n_images=N, shape=SHAPE, dtype=np.float32, shard_images=SHARD) as writer:
            writer.append(reference()[:12])
    with pytest.raises(ValueError, match="shape"):
        with AttributionWriter(path, n_images=N, shape=SHAPE, dtype=np.float32) as writer:
            writer.append(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="more than"):
        with AttributionWriter(path, n_images=2, shape=SHAPE, dtype=np.float32) as writer:
            writer.append(np.zeros((3, *SHAPE), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_an_empty_cache_keeps_the_map_shape(tmp_path):
    path = tmp_path / "empty.npz"
    with AttributionWriter(path, n_images=0, shape=SHAPE, dtype=np.float16, meta=META) as writer:
        writer.add(pool_index=np.empty(0, np.int64))
    maps, arrays, meta = load_attributions(path)
    assert maps.shape == (0, *SHAPE) and maps.dtype == np.float16 and meta == META
    assert maps[:].shape == (0, *SHAPE) and list(maps.iter_batches(4)) == []


# ---- the jobs that write and read the cache ----


@pytest.fixture
def on_the_cpu(monkeypatch):
    """Bit-identical streamed and resumed maps are promised on the CPU. On a GPU the backward kernels that
    sum with atomics reorder their sums from run to run (up to 1.3e-5 relative, seen on an H200), so
    the bit-for-bit tests pin the job to the CPU; tests/unit/test_on_device.py holds the GPU to a tolerance."""
    import torch

    from ineqbench.attribution import compute

    monkeypatch.setattr(compute, "select_device", lambda threads=None: torch.device("cpu"))


@pytest.fixture(scope="module")
def tiny_model_files(tmp_path_factory):
    """A random tiny model and a 10-image pool in a shuffled order (pool_index != test_index)."""
    import pandas as pd
    import torch

    from ineqbench.data.base import ImageSplit
    from ineqbench.data.prepare import save_split
    from ineqbench.io import write_parquet
    from ineqbench.models.architectures import build_classifier
    from ineqbench.models.checkpoint import save_checkpoint
    from ineqbench.models.spec import ModelSpec

    folder = tmp_path_factory.mktemp("cache_jobs")
    spec = ModelSpec(id="a", dataset="tiny", arch="test_resnet", seed=0)
    mean, std = [0.45, 0.5, 0.55], [0.25, 0.2, 0.3]
    torch.manual_seed(0)
    model = build_classifier(spec, 3, mean, std).eval()
    weights, card = str(folder / "a.safetensors"), str(folder / "a.json")
    save_checkpoint(model, weights, {"spec": spec.as_dict(), "num_classes": 3, "mean": mean, "std": std}, card)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 3, 16, 16), dtype=np.uint8)
    masks = rng.random((12, 16, 16)) < 0.3
    save_split(folder / "test.npz", ImageSplit(images, rng.integers(0, 3, 12).astype(np.int64), masks))
    order = rng.permutation(12)[:10]
    write_parquet(folder / "pool.parquet", pd.DataFrame({"pool_index": np.arange(10), "test_index": order}))
    return {
        "weights_path": weights,
        "card_path": card,
        "test_path": str(folder / "test.npz"),
        "pool_path": str(folder / "pool.parquet"),
    }


def test_attribute_job_streams_shards_equal_to_the_in_memory_maps(tiny_model_files, tmp_path, on_the_cpu):
    import torch

    from ineqbench.attribution.compute import attribute, compute_attributions
    from ineqbench.attribution.methods import MethodSpec
    from ineqbench.data.prepare import load_pool_images
    from ineqbench.models.checkpoint import load_model

    method = {
        "id": "ig",
        "kind": "integrated_gradients",
        "params": {"n_steps": 4, "method": "riemann_right", "baseline": "gaussian", "baseline_sigma_normalised": 1.0},
    }
    path = tmp_path / "ig.npz"
    attribute(
        **tiny_model_files,
        method=method,
        seed=2,
        batch_size=4,
        internal_batch_size=100,
        dtype="float16",
        out_path=str(path),
        shard_images=9,
    )
    maps, arrays, meta = load_attributions(path)
    # shards hold whole batches (9 rounds down to 8), so a resumed batch is seeded as the first run's
    assert [len(s) for s in maps.shards] == [8, 2] and maps.dtype == np.float16
    assert meta["settings"]["dtype"] == "float16" and meta["seed"] == 2
    model = load_model(tiny_model_files["weights_path"], tiny_model_files["card_path"], torch.device("cpu"))
    pool, split = load_pool_images(tiny_model_files["test_path"], tiny_model_files["pool_path"])
    expected, deltas = compute_attributions(
        model,
        split.images,
        split.labels,
        MethodSpec(**method),
        seed=2,
        batch_size=4,
        internal_batch_size=100,
        device=torch.device("cpu"),
    )
    np.testing.assert_array_equal(maps.to_array(), expected.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(arrays["convergence_delta"], deltas)
    np.testing.assert_array_equal(arrays["pool_index"], pool["pool_index"].to_numpy())
    np.testing.assert_array_equal(arrays["labels"], split.labels)


def test_scores_from_the_lazy_maps_equal_those_of_the_array(tiny_model_files, tmp_path):
    import pandas as pd

    from ineqbench.data.prepare import load_pool_images
    from ineqbench.inequality.score import score_inequality, score_maps

    _, split = load_pool_images(tiny_model_files["test_path"], tiny_model_files["pool_path"])
    stored = np.random.default_rng(3).normal(size=(10, 3, 16, 16)).astype(np.float32)
    path = tmp_path / "maps.npz"
    with AttributionWriter(
        path, n_images=10, shape=stored.shape[1:], dtype=np.float32, shard_images=4, meta={"settings": {}, "seed": 0}
    ) as writer:
        writer.append(stored)
        writer.add(pool_index=np.arange(10), labels=split.labels, convergence_delta=np.zeros(10, np.float32))
    maps = load_attributions(path)[0]
    for batch_size in (3, 256):
        pd.testing.assert_frame_equal(
            score_maps(maps, split.masks, ["abs", "relu"], 4, batch_size=batch_size),
            score_maps(stored, split.masks, ["abs", "relu"], 4, batch_size=batch_size),
        )
    score_inequality(
        attributions_path=str(path),
        transforms=["abs"],
        region_size=4,
        out_path=str(tmp_path / "scores.parquet"),
        test_path=tiny_model_files["test_path"],
        pool_path=tiny_model_files["pool_path"],
    )
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["pool_index"].tolist() == list(range(10)) and scores["mass_in_mask"].notna().all()


def test_a_killed_attribute_job_resumes_after_its_last_complete_shard(
    tiny_model_files, tmp_path, monkeypatch, on_the_cpu
):
    from ineqbench.attribution import compute

    method = {"id": "sg", "kind": "smoothgrad", "params": {"nt_samples": 2, "sigma": 0.15, "nt_samples_batch_size": 2}}
    settings = dict(method=method, seed=1, batch_size=2, internal_batch_size=100, dtype="float32", shard_images=4)
    whole, resumed = tmp_path / "whole.npz", tmp_path / "resumed.npz"
    compute.attribute(**tiny_model_files, **settings, out_path=str(whole))

    batches: list[int] = []
    real_iter = compute.iter_attributions

    def dies_after_three_batches(*args, **kwargs):
        for n, item in enumerate(real_iter(*args, **kwargs)):
            if n == 3:
                raise RuntimeError("killed")
            batches.append(item[0])
            yield item

    monkeypatch.setattr(compute, "iter_attributions", dies_after_three_batches)
    with pytest.raises(RuntimeError, match="killed"):
        compute.attribute(**tiny_model_files, **settings, out_path=str(resumed))
    assert batches == [0, 2, 4] and not resumed.exists()  # one complete shard (4 maps), half of the next
    batches.clear()
    monkeypatch.setattr(
        compute, "iter_attributions", lambda *a, **k: (batches.append(i[0]) or i for i in real_iter(*a, **k))
    )
    compute.attribute(**tiny_model_files, **settings, out_path=str(resumed))
    assert batches == [4, 6, 8]  # the first shard's batches are not computed again
    np.testing.assert_array_equal(load_attributions(resumed)[0].to_array(), load_attributions(whole)[0].to_array())
    np.testing.assert_array_equal(
        load_attributions(resumed)[1]["convergence_delta"], load_attributions(whole)[1]["convergence_delta"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resumed.npz", "whole.npz"]


@pytest.mark.parametrize("keep", [0, 40, 2000])
def test_a_truncated_cache_is_named_as_corrupt(tmp_path, keep):
    from ineqbench.errors import CorruptFile
    from ineqbench.io import read_npz

    path = tmp_path / "ig.npz"
    write(path, reference())
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(CorruptFile, match=f"{path} is corrupt .*snakemake --cores 1 --force"):
        load_attributions(path)
    with pytest.raises(CorruptFile, match=str(path)):
        read_npz(path)
