"""σ_max of the attribution Jacobian at 3x32x32: matrix-free (power iteration, Lanczos) against dense, same process.

The model is the embedded default's `test_resnet` (timm, built by `build_classifier` as the workflow
builds it, 4 classes of the synthetic-shapes data set, random weights seeded by the spec, eval mode),
converted to its softplus(β) surrogate (`softplus_surrogate`; the ReLU network's Jacobian is zero or
diagonal, see docs/attribution_bounds.md). Images: the first `--images` of `render_shapes(seed)` (the
embedded data set's renderer), target = the surrogate's predicted class. For each image and attribution
(plain gradient; Integrated Gradients, black baseline, riemann_right, `--ig-steps` points), times

- dense: `dense_jacobian` (torch.func.jacrev, d = 3072 vector-Jacobian products, vmapped in chunks
  of `--chunk-size`) + the SVD of `dense_spectrum` (svdvals), the reference σ_max;
- power: `power_iteration` (stops at relative change < `--tol` or `--power-iters`);
- lanczos: `lanczos` (stops at relative Ritz residual < `--tol` or `--lanczos-iters`);

and reports per method the median seconds over images, the iterations (products with J^T J), the
largest relative error |σ - σ_dense| / σ_dense over images, the speed ratio dense / method (of the
medians), and memory: the vector state each method keeps (the dense J: d² float32; power: 3 vectors of
d; Lanczos: its Krylov basis plus 2 vectors) and the measured peak RSS growth of the call (VmHWM reset
before it, after gc and malloc_trim so freed memory goes back to the system; it includes the autograd
residuals of the forward pass and jacrev's vmapped backward graphs, and is indicative only: the torch
CPU allocator and glibc may keep or reuse pages). Before timing, one warm-up run of each method on a
throwaway image (2 iterations each, one jacrev chunk) takes first-call costs out of the figures.
Threads: torch.set_num_threads(`--threads`, default 2). No assertion on any time.

    .venv/bin/python benchmarks/bench_sigma_max.py [--images 3] [--ig-steps 8] [--out sigma_max.json]
    .venv/bin/python benchmarks/bench_sigma_max.py --quick     # 1 image, gradient only (smoke run)
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch.func import vmap

from ineqbench.bounds.differentiable import attribution_map
from ineqbench.bounds.spectral import dense_jacobian, dense_spectrum, jacobian_operators, lanczos, power_iteration
from ineqbench.bounds.surrogate import softplus_surrogate
from ineqbench.data.synthetic_shapes import CLASS_NAMES, render_shapes
from ineqbench.models.architectures import build_classifier
from ineqbench.models.spec import ModelSpec

MIB = 2**20
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]  # any fixed normalisation: the weights are random anyway


def _vm(field: str) -> int:
    """A /proc/self/status field in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _release_memory() -> None:
    gc.collect()
    try:  # glibc keeps freed heap pages; give them back so the next call's RSS growth is its own
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measured(fn: Callable[[], object]) -> tuple[object, float, int]:
    """(fn(), wall seconds, peak RSS growth in bytes; -1 where VmHWM cannot be reset)."""
    _release_memory()
    before = _vm("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark
        hwm_reset = True
    except OSError:
        hwm_reset = False
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    growth = _vm("VmHWM") - before if hwm_reset else -1
    return result, seconds, growth


def build_model(beta: float) -> tuple[torch.nn.Module, object]:
    spec = ModelSpec(id="test_resnet-std-s0", dataset="synthetic_shapes", arch="test_resnet", seed=0)
    model = build_classifier(spec, len(CLASS_NAMES), MEAN, STD).eval()
    return model, softplus_surrogate(model, beta)


def images(n: int, seed: int) -> torch.Tensor:
    """n images of the embedded data set's renderer in [0, 1], plus one more for the warm-up (the last)."""
    split = render_shapes(seed, n + 1, size=32)
    return torch.from_numpy(split.images).float() / 255.0


def run_image(A, x: torch.Tensor, args: argparse.Namespace) -> dict:
    """All three methods on one image; the dense Jacobian is timed apart from its SVD."""
    row: dict = {}
    power, t, rss = measured(lambda: power_iteration(A, x, max_iters=args.power_iters, tol=args.tol, seed=args.seed))
    row["power"] = {
        "seconds": t,
        "rss": rss,
        "sigma": power.sigma_max,
        "iterations": power.iterations,
        "converged": power.converged,
        "residual": power.residual,
    }
    krylov, t, rss = measured(lambda: lanczos(A, x, max_iters=args.lanczos_iters, tol=args.tol, seed=args.seed))
    row["lanczos"] = {
        "seconds": t,
        "rss": rss,
        "sigma": krylov.sigma_max,
        "iterations": krylov.iterations,
        "converged": krylov.converged,
        "residual": krylov.residual,
    }
    jacobian, t_jac, rss = measured(lambda: dense_jacobian(A, x, chunk_size=args.chunk_size))
    spectrum, t_svd, _ = measured(partial(dense_spectrum, A, x, jacobian=jacobian))
    s = spectrum.singular_values
    row["dense"] = {
        "seconds": t_jac + t_svd,
        "jacobian_seconds": t_jac,
        "svd_seconds": t_svd,
        "rss": rss,
        "sigma": spectrum.sigma_max,
        "iterations": 0,
        "converged": True,
        "residual": 0.0,
        "sigma2_over_sigma1": float(s[1] / s[0]) if s[0] > 0 else float("nan"),
    }
    del jacobian
    for name in ("power", "lanczos"):
        row[name]["rel_error"] = (row[name]["sigma"] - spectrum.sigma_max) / spectrum.sigma_max
    row["dense"]["rel_error"] = 0.0
    return row


def warm_up(A, x: torch.Tensor, args: argparse.Namespace) -> None:
    """First-call costs out of the timings: 2 iterations of each matrix-free method and one jacrev chunk
    (what `dense_jacobian` vmaps chunk by chunk), without paying for a whole dense Jacobian."""
    power_iteration(A, x, max_iters=2, tol=0.0, seed=args.seed)
    lanczos(A, x, max_iters=2, tol=0.0, seed=args.seed)
    _, jt, out = jacobian_operators(A, x)
    with torch.no_grad():
        vmap(jt)(torch.eye(out.numel(), dtype=out.dtype)[: args.chunk_size])


def summarise(rows: list[dict], d: int) -> list[dict]:
    dense_median = statistics.median(r["dense"]["seconds"] for r in rows)
    out = []
    for name in ("dense", "power", "lanczos"):
        per = [r[name] for r in rows]
        iters = [p["iterations"] for p in per]
        if name == "dense":
            state = d * d * 4
        elif name == "power":
            state = 3 * d * 4  # v, J v, J^T J v
        else:
            state = (max(iters) + 2) * d * 4  # Krylov basis + the new vector + the Ritz vector
        seconds = statistics.median(p["seconds"] for p in per)
        out.append(
            {
                "method": name,
                "seconds_median": seconds,
                "seconds_min": min(p["seconds"] for p in per),
                "seconds_max": max(p["seconds"] for p in per),
                "iterations_median": statistics.median(iters),
                "iterations_min": min(iters),
                "iterations_max": max(iters),
                "converged": sum(p["converged"] for p in per),
                "images": len(per),
                "max_abs_rel_error": max(abs(p["rel_error"]) for p in per),
                "max_residual": max(p["residual"] for p in per),
                "speed_ratio_dense_over_method": dense_median / seconds,
                "state_bytes": state,
                "peak_rss_growth_bytes": max(p["rss"] for p in per),
            }
        )
    return out


def _size(n: float) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.0f} KiB"


def _iters(s: dict) -> str:
    if s["method"] == "dense":
        return "—"
    lo, mid, hi = s["iterations_min"], s["iterations_median"], s["iterations_max"]
    return f"{mid:g}" if lo == hi else f"{mid:g} ({lo}–{hi})"


def markdown(summaries: dict[str, list[dict]]) -> str:
    lines = [
        "| attribution | method | seconds, median (min–max) | iterations | converged | max rel. error vs dense"
        " | speed ratio dense/method | vector state | peak RSS growth |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, summary in summaries.items():
        for s in summary:
            ratio = "" if s["method"] == "dense" else f"x{s['speed_ratio_dense_over_method']:.1f}"
            err = "(reference)" if s["method"] == "dense" else f"{s['max_abs_rel_error']:.1e}"
            rss = "n/a" if s["peak_rss_growth_bytes"] < 0 else _size(s["peak_rss_growth_bytes"])
            lines.append(
                f"| {kind} | {s['method']} | {s['seconds_median']:.2f} ({s['seconds_min']:.2f}–"
                f"{s['seconds_max']:.2f}) | {_iters(s)} | {s['converged']}/{s['images']} | {err} | {ratio} | "
                f"{_size(s['state_bytes'])} | {rss} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--ig-steps", type=int, default=8)
    parser.add_argument("--beta", type=float, default=10.0, help="softplus β of the surrogate")
    parser.add_argument("--tol", type=float, default=1e-5, help="tolerance of both matrix-free methods")
    parser.add_argument("--power-iters", type=int, default=100)
    parser.add_argument("--lanczos-iters", type=int, default=30)
    parser.add_argument("--chunk-size", type=int, default=256, help="jacrev chunk (vjps vmapped at once)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="images (render_shapes) and start vectors")
    parser.add_argument("--kinds", default="gradient,integrated_gradients")
    parser.add_argument("--quick", action="store_true", help="1 image, gradient only (a smoke run)")
    parser.add_argument("--out", default=None, help="write the per-image results and summary as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.images, args.kinds = 1, "gradient"
    torch.set_num_threads(args.threads)
    kinds = [k for k in args.kinds.split(",") if k]

    model, surrogate = build_model(args.beta)
    xs = images(args.images, args.seed)
    warm, xs = xs[-1], xs[:-1]
    d = xs[0].numel()
    with torch.no_grad():
        targets = surrogate.model(xs).argmax(1).tolist()
    print(
        f"test_resnet ({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, random weights, eval), "
        f"softplus β={args.beta:g} surrogate: {surrogate.replaced} ReLUs replaced, kinked left: "
        f"{', '.join(surrogate.kinked_left) or 'none'}; d = {d}; {len(xs)} image(s), targets {targets}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; tol {args.tol:g}, "
        f"power ≤ {args.power_iters}, Lanczos ≤ {args.lanczos_iters} iterations, jacrev chunk {args.chunk_size}"
    )

    summaries: dict[str, list[dict]] = {}
    per_image: dict[str, list[dict]] = {}
    for kind in kinds:
        params = {"n_steps": args.ig_steps} if kind == "integrated_gradients" else {}
        label = f"IG ({args.ig_steps} steps)" if kind == "integrated_gradients" else kind
        with torch.no_grad():
            warm_target = int(surrogate.model(warm.unsqueeze(0)).argmax(1))
        warm_up(attribution_map(kind, surrogate.model, warm_target, params), warm, args)
        rows = []
        for i, (x, target) in enumerate(zip(xs, targets, strict=True)):
            row = run_image(attribution_map(kind, surrogate.model, target, params), x, args)
            rows.append(row)
            print(
                f"  {label}, image {i}: σ_dense {row['dense']['sigma']:.6g} (σ2/σ1 "
                f"{row['dense']['sigma2_over_sigma1']:.4f}; jacrev {row['dense']['jacobian_seconds']:.1f} s + SVD "
                f"{row['dense']['svd_seconds']:.1f} s), power {row['power']['sigma']:.6g} in "
                f"{row['power']['iterations']} it / {row['power']['seconds']:.1f} s, Lanczos "
                f"{row['lanczos']['sigma']:.6g} in {row['lanczos']['iterations']} it / "
                f"{row['lanczos']['seconds']:.1f} s",
                flush=True,
            )
        per_image[label] = rows
        summaries[label] = summarise(rows, d)
        if args.out:  # after every attribution kind, so a long run that is stopped keeps what it has
            payload = {
                "settings": {k: v for k, v in vars(args).items() if k != "out"},
                "d": d,
                "targets": targets,
                "beta": args.beta,
                "kinked_left": list(surrogate.kinked_left),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "machine": platform.machine(),
                "per_image": per_image,
                "summary": summaries,
                "table": markdown(summaries),
            }
            Path(args.out).write_text(json.dumps(payload, indent=2))

    print()
    print(markdown(summaries))
    if args.out:
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
