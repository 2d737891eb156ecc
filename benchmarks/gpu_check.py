"""The GPU check: what one GPU does for a random-weight ResNet-50 at 224 px, in a few minutes.

Records (CSV + Markdown, `--out`):
- the forward + input-gradient backward limit, and the `ig` preset's throughput and ratio to it,
  in float32 and in mixed precision (bfloat16 autocast), and the limit with channels_last tensors;
- the batched occlusion search against the sequential Algorithm 1 (same images, maps and decisions);
- σ_max of the attribution Jacobian, seconds per image (Lanczos on the softplus surrogate);
- the projected attribution time of `config/paper_imagenet.yaml`'s Table 1 from the measured rates
  (every model of its grid over its pool, every method), per architecture.

On a CPU it runs smaller (2 images per batch, the plain gradient for σ_max, 10 Lanczos iterations) so
the same code is exercised anywhere; only a GPU run says anything about the goals. Needs no captum,
snakemake or jsonschema (the GPU machine lacks them): run through benchmarks/gpu_check.sh.

    PYTHONPATH=src python3 benchmarks/gpu_check.py [--out benchmarks/out/gpu_check]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from ineqbench.attacks.occlusion import COLOURS, LOOP_ORDERS, centres_of, coverage, search_batched, search_sequential
from ineqbench.attacks.settings import OcclusionSettings
from ineqbench.attribution.settings import resolve_methods
from ineqbench.benchmarking import (
    bench_device,
    environment,
    forward_backward_limit,
    measure_attribution,
    median_seconds,
    points_per_image,
    random_model,
    synchronize,
    write_record,
)
from ineqbench.bounds.differentiable import attribution_map
from ineqbench.bounds.spectral import lanczos
from ineqbench.bounds.surrogate import softplus_surrogate

ROOT = Path(__file__).resolve().parents[1]
GPU = {
    "ig_images": 32,
    "pass_sizes": [128, 256, 512],
    "occlusion_images": 64,
    "sigma_images": 2,
    "sigma_kind": "integrated_gradients",
    "sigma_iters": 30,
    "ig_steps_sigma": 20,
}
CPU = {
    "ig_images": 2,
    "pass_sizes": [27],
    "occlusion_images": 4,
    "sigma_images": 1,
    "sigma_kind": "gradient",
    "sigma_iters": 10,
    "ig_steps_sigma": 4,
}


def inputs(n: int, device: torch.device, classes: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, 224, 224, generator=gen).to(device), torch.randint(classes, (n,), generator=gen).to(device)


def attribution_rows(model, sizes: dict, device, internal_batch_size: int) -> list[dict]:
    x, y = inputs(sizes["ig_images"], device)
    spec = resolve_methods(["ig"], {})["ig"]
    rows = []
    for precision in ("float32", "bfloat16"):
        m = measure_attribution(model, x, y, spec, internal_batch_size, precision, sizes["pass_sizes"])
        rows += [
            {
                "what": f"fwd+bwd limit ({precision})",
                "value": m["fwd_bwd_samples_per_sec"],
                "unit": "points/s",
                "detail": f"pass {m['limit_pass_size']}",
            },
            {
                "what": f"ig throughput ({precision})",
                "value": m["samples_per_sec"],
                "unit": "images/s",
                "detail": f"batch {len(x)}, pass {m['pass_size']}, peak {m['peak_mib']:.0f} MiB",
            },
            {
                "what": f"ig ratio to limit ({precision})",
                "value": m["ratio"],
                "unit": "",
                "goal": ">= 0.9",
            },
        ]
    # channels_last: worth adopting in the engine only where it raises the limit itself
    model.to(memory_format=torch.channels_last)
    for precision in ("float32", "bfloat16"):
        rate, size = forward_backward_limit(
            model, x, y, sizes["pass_sizes"], device, precision, layout=torch.channels_last
        )
        rows.append(
            {
                "what": f"fwd+bwd limit ({precision}, channels_last)",
                "value": rate,
                "unit": "points/s",
                "detail": f"pass {size}",
            }
        )
    model.to(memory_format=torch.contiguous_format)
    return rows


def occlusion_rows(model, sizes: dict, device) -> list[dict]:
    x, _ = inputs(sizes["occlusion_images"], device)
    with torch.no_grad():
        y = model(x).argmax(1)  # attack the model's own predictions
    maps = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(device)
    settings = OcclusionSettings()
    candidates = LOOP_ORDERS.get(settings.loop)(5, 10)  # the paper's 224 px budget N=5, R=10
    cover = coverage(centres_of(maps, 5, settings, 16), 224, 224)
    fill = COLOURS.get("black")(x, model.mean, model.std)
    args = (model, x, y, fill, cover, candidates)
    sequential = median_seconds(lambda: search_sequential(*args), device, warmup=1, repeats=1)
    batched = median_seconds(
        lambda: search_batched(*args, chunk=settings.chunk, batch_size=settings.batch_size), device, warmup=1, repeats=3
    )
    a, b = search_sequential(*args), search_batched(*args, chunk=settings.chunk, batch_size=settings.batch_size)
    # the sequential reference keeps its decisions on the CPU, the batched search on the model's device
    differing = int(((a.stop.cpu() != b.stop.cpu()) | (a.success.cpu() != b.success.cpu())).sum())
    return [
        {"what": "occlusion search, sequential", "value": sequential, "unit": "s", "detail": f"{len(x)} images"},
        {"what": "occlusion search, batched", "value": batched, "unit": "s", "detail": f"{differing} decisions differ"},
        {
            "what": "occlusion speed-up batched / sequential",
            "value": sequential / batched,
            "unit": "x",
            "goal": ">= 20",
        },
    ]


def sigma_rows(model, sizes: dict, device) -> list[dict]:
    smooth = softplus_surrogate(model, 10.0).model
    x, _ = inputs(sizes["sigma_images"], device)
    params = {"n_steps": sizes["ig_steps_sigma"]} if sizes["sigma_kind"] == "integrated_gradients" else {}
    times = []
    for image in x:
        with torch.no_grad():
            target = int(smooth(image[None]).argmax())
        attribution = attribution_map(sizes["sigma_kind"], smooth, target, params, None)
        synchronize(device)
        start = time.perf_counter()
        estimate = lanczos(attribution, image, max_iters=sizes["sigma_iters"], tol=1e-4)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return [
        {
            "what": f"sigma_max seconds per image ({sizes['sigma_kind']}, <= {sizes['sigma_iters']} Lanczos)",
            "value": sum(times) / len(times),
            "unit": "s",
            "detail": f"sigma {float(estimate.sigma_max):.3g}",
        }
    ]


def projection_rows(device, sizes: dict, ratio: dict, precision: str) -> list[dict]:
    """Table 1 of config/paper_imagenet.yaml: every model of the grid attributes its pool with every
    method; time = points / (measured fwd+bwd rate of its architecture x the measured IG ratio)."""
    config = yaml.safe_load((ROOT / "config/paper_imagenet.yaml").read_text())
    pool = next(iter(config["datasets"].values()))["pool_size"]
    methods = resolve_methods(config["attribution"]["methods"], {})
    points = sum(points_per_image(m) for m in methods.values())
    archs = [row["arch"] for row in config["model_grid"] for _ in row["epsilons"]]
    archs += [m["arch"] for m in config.get("models", [])]
    rows, total = [], 0.0
    for arch in sorted(set(archs)):
        model = random_model(arch, device)
        x, y = inputs(sizes["ig_images"], device)
        rate, _ = forward_backward_limit(model, x, y, sizes["pass_sizes"], device, precision)
        seconds = archs.count(arch) * pool * points / (rate * ratio[precision])
        total += seconds
        rows.append(
            {
                "what": f"Table 1 projection, {arch} x{archs.count(arch)} ({precision})",
                "value": seconds / 60,
                "unit": "min",
                "detail": f"{pool} images x {points} points at {rate:.0f} points/s",
            }
        )
        del model
    rows.append(
        {
            "what": f"Table 1 projection, total ({precision})",
            "value": total / 60,
            "unit": "min",
            "goal": "<= 30 on one H100",
            "detail": f"{len(archs)} models, methods {list(methods)}",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out/gpu_check")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    device = bench_device(args.threads)
    sizes = GPU if device.type == "cuda" else CPU
    started = time.perf_counter()
    env = environment(device)
    where = "GPU" if device.type == "cuda" else "CPU (smaller sizes: only a GPU run speaks to the goals)"

    def record(rows: list[dict]) -> Path:  # after every stage, so a check cut short keeps what it measured
        notes = f"{where}; the check took {(time.perf_counter() - started) / 60:.1f} minutes up to the last row."
        return write_record(rows, env, args.out, "GPU check: ResNet-50 at 224 px", notes)[1]

    model = random_model("resnet50", device)
    rows = attribution_rows(model, sizes, device, internal_batch_size=max(sizes["pass_sizes"]))
    record(rows)
    ratio = {
        p: next(r["value"] for r in rows if r["what"] == f"ig ratio to limit ({p})") for p in ("float32", "bfloat16")
    }
    rows += occlusion_rows(model, sizes, device)
    record(rows)
    rows += sigma_rows(model, sizes, device)
    record(rows)
    del model
    for precision in ("float32", "bfloat16"):
        rows += projection_rows(device, sizes, ratio, precision)
    print(record(rows).read_text())


if __name__ == "__main__":
    main()
