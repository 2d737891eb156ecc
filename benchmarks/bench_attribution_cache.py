"""Sharded, memory-mapped attribution cache against the old whole-array NPZ read, same process.

Writes an ImageNet-sized cache (default 2000 maps of 3x224x224 float16, about 0.6 GB) twice in a
temporary folder: sharded by `AttributionWriter`, and in the old layout (one `attributions.npy`
member written by np.savez). Then reads 10 random rows, and scans every map in batches of 256 (what
the scoring job does), both through `load_attributions` (memory-mapped) and through the old
`read_npz` + `.astype(float32)` path. Reports wall time (best of the repeats) and memory: the peak
of numpy's heap allocations (tracemalloc) and the peak RSS growth (VmHWM, reset before each read;
mapped file pages that a read touches count here, heap allocations too). Ratios are old / new.
Both reads find the files in the page cache (just written): the ratios are not about disk speed.

    .venv/bin/python benchmarks/bench_attribution_cache.py [--images 2000] [--shard 1000] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ineqbench.attribution.cache import AttributionWriter, load_attributions
from ineqbench.io import read_npz

SHAPE = (3, 224, 224)
BATCH = 100


def synthetic_batches(n: int, seed: int = 0):
    """Heavy-tailed float32 maps, BATCH at a time (attribute's float32 batches)."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        maps = rng.standard_normal((size, *SHAPE), dtype=np.float32)
        maps **= 3  # in place: one batch in memory
        yield start, maps


def small_arrays(n: int) -> dict[str, np.ndarray]:
    return {"pool_index": np.arange(n), "labels": np.arange(n) % 1000, "convergence_delta": np.zeros(n, np.float32)}


def write_sharded(path: Path, n: int, shard: int) -> None:
    with AttributionWriter(
        path, n_images=n, shape=SHAPE, dtype=np.float16, shard_images=shard, meta={"settings": {}, "seed": 0}
    ) as writer:
        for _, maps in synthetic_batches(n):
            writer.append(maps)
        writer.add(**small_arrays(n))


def write_legacy(path: Path, n: int, scratch: Path) -> None:
    """The pre-sharding layout, np.savez of one (N, C, H, W) array, streamed from a scratch memmap so
    this script never holds the whole array either."""
    raw = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.float16, shape=(n, *SHAPE))
    for start, maps in synthetic_batches(n):
        raw[start : start + len(maps)] = maps
    raw.flush()
    np.savez(path, attributions=raw, meta=np.array(json.dumps({"settings": {}, "seed": 0})), **small_arrays(n))
    del raw
    scratch.unlink()


def old_load(path: Path) -> np.ndarray:
    """load_attributions before the sharding: every array read, the maps cast to float32."""
    arrays = read_npz(path)
    return arrays.pop("attributions").astype(np.float32)


def _vm(field: str) -> int:
    """A /proc/self/status field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_hwm() -> bool:
    """Reset the peak-RSS mark (Linux: write 5 to clear_refs); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(fn: Callable[[], object], repeats: int) -> tuple[float, int, int]:
    """(best wall time in s, peak numpy heap in bytes, peak RSS growth in bytes) of fn()."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    gc.collect()
    baseline_rss = _vm("VmRSS")
    hwm_reset = _reset_hwm()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    fn()
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_growth = (
        _vm("VmHWM") - baseline_rss
        if hwm_reset
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - maxrss_before
    )
    return min(times), heap_peak, rss_growth


def _ratio(old: float, new: float) -> str:
    ratio = old / max(new, 1e-12)
    return f"x{ratio:.1f}" if ratio < 10 else f"x{ratio:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--shard", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--tmp", default=None, help="folder for the temporary caches (default: the system's)")
    args = parser.parse_args()
    mib = 2**20
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bench_attribution_cache.") as folder:
        sharded, legacy = Path(folder) / "sharded.npz", Path(folder) / "legacy.npz"
        start = time.perf_counter()
        tracemalloc.start()
        write_sharded(sharded, args.images, args.shard)
        write_heap = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t_write = time.perf_counter() - start
        write_legacy(legacy, args.images, Path(folder) / "scratch.npy")
        size = sharded.stat().st_size
        print(
            f"{args.images} maps of {'x'.join(map(str, SHAPE))} float16, shards of {args.shard}: "
            f"{size / mib:.0f} MiB on disk; written in {t_write:.1f} s with a peak numpy heap of "
            f"{write_heap / mib:.0f} MiB (one shard: {args.shard * np.prod(SHAPE) * 2 / mib:.0f} MiB, one float32 "
            f"batch of {BATCH}: {BATCH * np.prod(SHAPE) * 4 / mib:.0f} MiB)"
        )
        rows = np.random.default_rng(1).choice(args.images, args.rows, replace=False)
        reference = old_load(legacy)[rows]
        assert np.array_equal(load_attributions(sharded)[0][rows], reference)
        assert np.array_equal(load_attributions(legacy)[0][rows], reference)

        def scan_new(path: Path) -> float:
            return sum(float(np.abs(b).sum()) for _, b in load_attributions(path)[0].iter_batches(256))

        def scan_old(path: Path) -> float:
            maps = old_load(path)
            return sum(float(np.abs(maps[s : s + 256]).sum()) for s in range(0, len(maps), 256))

        assert np.isclose(scan_new(sharded), scan_old(legacy), rtol=1e-6)
        some, scan, old_path = f"{args.rows} random rows", "all maps, batches of 256", "old: np.load + astype, legacy"
        cases = [
            (some, old_path, lambda: old_load(legacy)[rows], 2),
            (some, "new: load_attributions, sharded", lambda: load_attributions(sharded)[0][rows], 5),
            (some, "new: load_attributions, legacy", lambda: load_attributions(legacy)[0][rows], 5),
            (scan, old_path, lambda: scan_old(legacy), 2),
            (scan, "new: iter_batches, sharded", lambda: scan_new(sharded), 2),
        ]
        results = [(task, how, *measure(fn, repeats)) for task, how, fn, repeats in cases]
    print(
        "\n| read | path | time s | peak numpy heap MiB | peak RSS growth MiB | time ratio old/new | "
        "heap ratio old/new |"
    )
    print("|---|---|---|---|---|---|---|")
    for task, how, t, heap, rss in results:
        old = next(r for r in results if r[0] == task and r[1].startswith("old"))
        ratios = ("", "") if how.startswith("old") else (_ratio(old[2], t), _ratio(old[3], heap))
        print(f"| {task} | {how} | {t:.4f} | {heap / mib:.1f} | {rss / mib:.1f} | {ratios[0]} | {ratios[1]} |")


if __name__ == "__main__":
    main()
