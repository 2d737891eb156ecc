"""The architecture sweep: attribution throughput (IG, the suite's `ig` preset: 20 steps, N(0, 1)
baseline), its ratio to the limit (20 forward + input-gradient backward passes per image, measured in the
same process) and peak memory, for timm architectures at their pretrained_cfg input size with random
weights (nothing is downloaded), written as a timm-style CSV plus a Markdown record.

Default list: 22 architectures of 14 families, sized to finish within 45 minutes on a 2-core CPU
with `--images 2`. On a GPU raise `--images` (e.g. 32). A failing architecture is recorded with its
error and the sweep goes on. The record is rewritten after every architecture, so a sweep stopped
part-way keeps what it measured; `--max-minutes` starts no new architecture past that time (the rest are
listed as not measured). No assertion on any time.

    .venv/bin/python benchmarks/timm_sweep.py [--archs 'resnet*' ...] [--images 2] [--max-minutes M]
        [--out benchmarks/out/timm_sweep]
"""

from __future__ import annotations

import argparse
import fnmatch
import time

import torch

from ineqbench.attribution.methods import resolve_methods
from ineqbench.benchmarking import (
    bench_device,
    environment,
    measure_attribution,
    random_model,
    write_record,
)

# family -> architectures (timm names; the input size comes from each pretrained_cfg)
ARCHITECTURES = {
    "ResNet": ["resnet18", "resnet50", "resnet26d"],
    "Wide ResNet": ["wide_resnet50_2"],
    "EfficientNet": ["efficientnet_b0", "efficientnet_b1"],
    "ConvNeXt": ["convnext_atto", "convnext_tiny"],
    "ViT": ["vit_tiny_patch16_224", "vit_small_patch16_224"],
    "DeiT": ["deit_tiny_patch16_224", "deit_small_patch16_224"],
    "RegNet": ["regnetx_002", "regnety_004"],
    "MobileNet": ["mobilenetv2_100", "mobilenetv3_large_100"],
    "DenseNet": ["densenet121"],
    "Swin": ["swin_tiny_patch4_window7_224"],
    "RepVGG": ["repvgg_a0"],
    "GhostNet": ["ghostnet_100"],
    "LeViT": ["levit_128s"],
    "Inception": ["inception_v3"],
}


def sweep_list(patterns: list[str] | None) -> list[tuple[str, str]]:
    pairs = [(family, arch) for family, archs in ARCHITECTURES.items() for arch in archs]
    if not patterns:
        return pairs
    return [(f, a) for f, a in pairs if any(fnmatch.fnmatch(a, p) for p in patterns)]


def measure_architecture(arch: str, images: int, internal_batch_size: int, device: torch.device) -> dict:
    model = random_model(arch, device)
    cfg = model.backbone.pretrained_cfg
    size = cfg["input_size"][-1]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(images, *cfg["input_size"], generator=gen).to(device)
    y = torch.randint(model.backbone.num_classes, (images,), generator=gen).to(device)
    spec = resolve_methods(["ig"], {})["ig"]
    return {
        "model": arch,
        "img_size": size,
        "batch_size": images,
        "param_count": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
        **measure_attribution(model, x, y, spec, internal_batch_size, extra_sizes=[images]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="*", help="fnmatch patterns selecting from the default list")
    parser.add_argument("--images", type=int, default=2, help="images per attribution batch")
    parser.add_argument("--internal-batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, help="start no architecture after this many minutes")
    parser.add_argument("--out", default="benchmarks/out/timm_sweep")
    args = parser.parse_args(argv)
    device = bench_device(args.threads)
    rows, started = [], time.perf_counter()
    for family, arch in sweep_list(args.archs):
        t0 = time.perf_counter()
        if args.max_minutes is not None and (t0 - started) / 60 > args.max_minutes:
            row = {"family": family, "model": arch, "error": f"not measured: past --max-minutes {args.max_minutes}"}
        else:
            try:
                row = {"family": family, **measure_architecture(arch, args.images, args.internal_batch_size, device)}
            except Exception as err:  # one architecture failing does not end the sweep; its row says why
                row = {"family": family, "model": arch, "error": f"{type(err).__name__}: {err}"[:200]}
            row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        md = write_sweep(rows, device, args.out, started)
    print(md.read_text())


def write_sweep(rows: list[dict], device: torch.device, out: str, started: float):
    measured = [r for r in rows if "error" not in r]
    columns = ["model", "family", *[k for k in (measured or rows)[0] if k not in ("model", "family")]]
    table = [{k: r.get(k) for k in dict.fromkeys(columns + [k for r in rows for k in r])} for r in rows]
    minutes = (time.perf_counter() - started) / 60
    notes = (
        f"{len(measured)} of {len(rows)} architectures measured, "
        f"{len({r['family'] for r in measured})} families, in {minutes:.1f} minutes."
    )
    return write_record(table, environment(device), out, "timm architecture sweep: IG throughput", notes)[1]


if __name__ == "__main__":
    main()
