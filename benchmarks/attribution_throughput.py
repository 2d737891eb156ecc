"""Attribution throughput against its limit: IG, SmoothGrad and GradientShap (the suite's presets) on
the issue's two rows, in images per second, next to n x (forward + input-gradient backward) and next
to captum's implementation of the same method (the code before the pass engine), all in one process.

Rows: test_resnet (timm, 4 classes as the embedded default) at 32 px in batches of 50, and resnet18
(random weights, 1000 classes) at 224 px in batches of 4. The limit is the best rate of plain passes at
the pass size the engine uses and at the whole batch's points (or the `--limit-sizes` given).
Precision float32, and bfloat16 autocast with `--bf16`. No assertion on any time.

    .venv/bin/python benchmarks/attribution_throughput.py [--quick] [--bf16] [--out benchmarks/out/attribution]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ineqbench.attribution.methods import resolve_methods
from ineqbench.benchmarking import (
    bench_device,
    environment,
    measure,
    measure_attribution,
    points_per_image,
    random_model,
    write_record,
)

ROWS = [("test_resnet", 32, 50, 4), ("resnet18", 224, 4, 1000)]
METHODS = ["ig", "smoothgrad", "gradshap"]


def captum_call(model, x, y, spec):
    """The same method through captum (what the attribute job ran before the pass engine)."""
    from captum.attr import GradientShap, IntegratedGradients, NoiseTunnel, Saliency

    p = spec.params
    if spec.kind == "integrated_gradients":
        baseline = model.mean + model.std * torch.randn_like(x)
        return lambda: IntegratedGradients(model).attribute(
            x, baselines=baseline, target=y, n_steps=p["n_steps"], method=p["method"], internal_batch_size=1000
        )
    if spec.kind == "smoothgrad":
        return lambda: NoiseTunnel(Saliency(model)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=p["nt_samples"],
            stdevs=p["sigma"],
            target=y,
            abs=False,
            nt_samples_batch_size=p["nt_samples_batch_size"],
        )
    return lambda: GradientShap(model).attribute(
        x, baselines=torch.zeros_like(x[:1]), n_samples=p["n_samples"], target=y
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 32 px row only, IG only (a smoke run)")
    parser.add_argument("--bf16", action="store_true", help="also bfloat16 autocast")
    parser.add_argument("--no-captum", action="store_true", help="skip captum (a machine without it)")
    parser.add_argument("--internal-batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/out/attribution")
    args = parser.parse_args(argv)
    device = bench_device(args.threads)
    rows_spec = ROWS[:1] if args.quick else ROWS
    methods = resolve_methods(METHODS[:1] if args.quick else METHODS, {})
    precisions = ["float32", "bfloat16"] if args.bf16 else ["float32"]
    rows = []
    for arch, size, batch, classes in rows_spec:
        model = random_model(arch, device, classes)
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(batch, 3, size, size, generator=gen).to(device)
        y = torch.randint(classes, (batch,), generator=gen).to(device)
        for precision in precisions:
            for spec in methods.values():
                n = points_per_image(spec)
                whole_batch = min(batch * n, args.internal_batch_size)
                measured = measure_attribution(model, x, y, spec, args.internal_batch_size, precision, [whole_batch])
                row = {
                    "model": arch,
                    "img_size": size,
                    "batch_size": batch,
                    "param_count": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
                    "method": spec.id,
                    "points_per_image": n,
                    "precision": precision,
                    **measured,
                }
                if precision == "float32" and not args.no_captum:
                    before = measure(captum_call(model, x, y, spec), batch, device)
                    row |= {
                        "captum_samples_per_sec": before.samples_per_sec,
                        "captum_ratio": before.samples_per_sec / measured["limit_samples_per_sec"],
                    }
                rows.append(row)
                print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    csv, md = write_record(rows, environment(device), args.out, "Attribution throughput against its limit")
    print(f"wrote {csv} and {md}")
    print(md.read_text())
    if not np.isfinite([r["ratio"] for r in rows]).all():
        raise SystemExit("a ratio is not finite")


if __name__ == "__main__":
    main()
