"""Throughput against the hardware limit, measured the same way everywhere (benchmarks/, the GPU check,
the architecture sweep): medians over timed repeats after a warm-up, ratios to a limit measured in the
same process, peak memory per case. Nothing here asserts a time; the scripts record what they see.

The limit of an attribution method that takes n gradient points per image is the model's best rate of
plain forward + input-gradient backward passes (`passes.target_gradients`) divided by n: no method
built on gradients can beat it, and a ratio near 1 means the method adds no overhead of its own.
"""

from __future__ import annotations

import ctypes
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from ineqbench.attribution.draws import ImageDraws
from ineqbench.attribution.methods import METHOD_KINDS, MethodSpec
from ineqbench.attribution.passes import PassRunner, pass_size, target_gradients
from ineqbench.device import use_ieee_float32

WARMUP, REPEATS = 1, 3
MIB = 2**20

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def points_per_image(spec: MethodSpec) -> int:
    return METHOD_KINDS.get(spec.kind).points_per_image(spec.params)


def bench_device(threads: int) -> torch.device:
    """The GPU when there is one, in IEEE float32 as the jobs run it; else the CPU with `threads` threads."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(threads)
    else:
        use_ieee_float32()
    return device


def random_model(arch: str, device: torch.device, num_classes: int | None = None):
    """A timm architecture with random (seed 0) weights, its pretrained_cfg normalisation inside, eval mode;
    nothing is downloaded. `num_classes` None keeps the architecture's own."""
    import timm

    from ineqbench.models.wrapper import NormalizedClassifier

    torch.manual_seed(0)
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    backbone = timm.create_model(arch, pretrained=False, **kwargs)
    cfg = backbone.pretrained_cfg
    return NormalizedClassifier(backbone, list(cfg["mean"]), list(cfg["std"])).to(device).eval()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], object], device: torch.device, warmup: int = WARMUP, repeats: int = REPEATS):
    """Median wall time of `fn` over `repeats` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc's malloc_trim), so that a block reusing memory an
    earlier case freed still shows as growth: without it, cases after a larger one read about 0."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the growth may read low
        pass


@contextmanager
def peak_memory(device: torch.device) -> Iterator[dict]:
    """{'peak_mib': ...} after the block: the GPU's peak allocation, or on a CPU the growth of the
    process's peak resident memory over the block (VmHWM reset first; Linux only, else NaN)."""
    result = {"peak_mib": float("nan")}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        yield result
        result["peak_mib"] = torch.cuda.max_memory_allocated(device) / MIB
        return
    try:
        _release_free_heap()
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_bytes("VmRSS")
    except OSError:
        yield result
        return
    yield result
    result["peak_mib"] = (_status_bytes("VmHWM") - before) / MIB


@dataclass
class Measured:
    samples_per_sec: float
    peak_mib: float


def measure(fn: Callable[[], object], n_samples: int, device: torch.device) -> Measured:
    with peak_memory(device) as peak:
        seconds = median_seconds(fn, device)
    return Measured(n_samples / seconds, peak["peak_mib"])


def forward_backward(
    model, x: torch.Tensor, y: torch.Tensor, points: int, precision: str = "float32", layout=torch.contiguous_format
):
    """A callable running one forward + input-gradient backward pass of `points` points from x, laid
    out in memory as `layout` (torch.channels_last for NHWC)."""
    reps = -(-points // len(x))
    xs, ys = x.repeat(reps, 1, 1, 1)[:points].contiguous(memory_format=layout), y.repeat(reps)[:points]
    return lambda: target_gradients(model, xs, ys, PRECISIONS[precision])


def forward_backward_limit(
    model, x, y, sizes: list[int], device, precision: str = "float32", layout=torch.contiguous_format
) -> tuple[float, int]:
    """(best points per second, at which pass size) over `sizes`."""
    rates = {s: measure(forward_backward(model, x, y, s, precision, layout), s, device).samples_per_sec for s in sizes}
    best = max(rates, key=rates.get)
    return rates[best], best


def attribution_call(model, x, y, spec: MethodSpec, internal_batch_size: int, precision: str = "float32"):
    """A callable computing the maps of the batch x as the attribute job does (per-image draws)."""
    size = pass_size(internal_batch_size, tuple(x.shape[1:]), x.device)
    runner = PassRunner(model, size, PRECISIONS[precision])
    compute = METHOD_KINDS.get(spec.kind).compute

    def run():
        return compute(model, x, y, spec.params, runner, ImageDraws.for_pool(0, range(len(x)), x.device))

    return run, size


def measure_attribution(
    model, x, y, spec: MethodSpec, internal_batch_size: int, precision: str = "float32", extra_sizes=()
) -> dict:
    """The method's images/s on the batch x, against its limit: the best plain-pass rate (at the pass
    sizes the engine uses and at `extra_sizes`) over n points per image. The limit is measured before
    and after the method and the faster kept: whatever runs first in a process runs slow (kernel
    set-up, clocks), and the limit must not be the one to pay for it."""
    n = points_per_image(spec)
    run, pass_points = attribution_call(model, x, y, spec, internal_batch_size, precision)
    # the engine's passes hold whole images where they fit: n points each, or as many images as fit
    sizes = sorted({pass_points, max(n, pass_points // n * n) if n <= pass_points else pass_points, *extra_sizes})
    before = forward_backward_limit(model, x, y, sizes, x.device, precision)
    ours = measure(run, len(x), x.device)
    limit, best = max(before, forward_backward_limit(model, x, y, sizes, x.device, precision))
    return {
        "samples_per_sec": ours.samples_per_sec,
        "limit_samples_per_sec": limit / n,
        "ratio": ours.samples_per_sec / (limit / n),
        "fwd_bwd_samples_per_sec": limit,
        "pass_size": pass_points,
        "limit_pass_size": best,
        "peak_mib": ours.peak_mib,
    }


def environment(device: torch.device) -> dict:
    """What a benchmark record names: device, library versions, machine."""
    import numpy
    import timm

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or 'cpu'})"
    lock = Path(__file__).resolve().parents[2] / "requirements.lock"
    pinned = [line.split("==")[1].split()[0] for line in lock.read_text().splitlines() if line.startswith("torch==")]
    return {
        "device": name,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__ + (f" (the lock pins {pinned[0]})" if pinned else ""),
        "timm": timm.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
    }


def write_record(rows: list[dict], env: dict, stem: str | Path, title: str, notes: str = "") -> tuple[Path, Path]:
    """`<stem>.csv` (one row per case, timm's benchmark columns first) and `<stem>.md` (the same table
    under the device, libraries, lock hash, commit and date it was measured with)."""
    import datetime

    import pandas as pd

    from ineqbench.provenance import git_state, lock_hash

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    frame.to_csv(csv, index=False, float_format="%.4g")
    git = git_state() or {}
    header = [
        f"# {title}",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {git.get('commit', 'unknown')}{' (uncommitted changes)' if git.get('dirty') else ''}",
        f"- lock sha256: {lock_hash()}",
        *[f"- {k}: {v}" for k, v in env.items()],
        f"- timing: median of {REPEATS} timed repeats after {WARMUP} warm-up",
        "",
    ]
    body = markdown_table(frame)
    md.write_text("\n".join(header) + ("\n" + notes.strip() + "\n\n" if notes else "\n") + body + "\n")
    return csv, md


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.4g}"
    return "" if value is None else str(value)


def markdown_table(frame) -> str:
    """A Markdown table of a DataFrame (no tabulate: the GPU machine may not have it)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
