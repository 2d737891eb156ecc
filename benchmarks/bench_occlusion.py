"""Batched occlusion search against the sequential Algorithm 1, on the same images and maps.

Runs on the embedded default's outputs (after `make run`): for each given model, its correctly
classified pool images and cached attribution maps, every budget and colour of the config. Reports
the wall time of both searches, the speed-up ratio, and how many images got other decisions
(stop, success or prediction), with the smallest top-2 margin of those (only margins below 1e-5 may
differ). Usage, from the repository root:

    .venv/bin/python benchmarks/bench_occlusion.py results/default/synthetic_shapes test_resnet-std-s0 \
        test_resnet-linf4-s0 --method ig --images 200
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml

from ineqbench.attacks.inputs import load_attack_inputs
from ineqbench.attacks.occlusion import (
    COLOURS,
    LOOP_ORDERS,
    OcclusionSettings,
    centres_of,
    coverage,
    search_batched,
    search_sequential,
)
from ineqbench.config import load_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results/<dataset> folder of a finished run")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--method", default="ig")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    exp = load_experiment(yaml.safe_load(open(args.config)))
    dataset = exp.datasets[args.results.rstrip("/").split("/")[-1]]
    settings = OcclusionSettings(**exp.attacks.occlusion)
    r = args.results
    print(
        "| model | budget | colour | images | sequential s | "
        + " | ".join(f"chunk {c}: s (x)" for c in args.chunks)
        + " | decisions differing |"
    )
    print("|---" * (6 + len(args.chunks)) + "|")
    totals = {"seq": 0.0, **{c: 0.0 for c in args.chunks}}
    for model_id in args.models:
        inputs = load_attack_inputs(
            f"{r}/models/{model_id}.safetensors",
            f"{r}/models/{model_id}.json",
            f"{r}/attributions/{model_id}/{args.method}.npz",
            f"{r}/data/test.npz",
            f"{r}/data/pool.parquet",
            threads=args.threads,
        )
        x = torch.from_numpy(inputs.images[: args.images]).float() / 255
        y = torch.from_numpy(inputs.labels[: args.images])
        maps = torch.from_numpy(inputs.maps[: args.images])
        for budget in dataset.occlusion_budgets:
            candidates = LOOP_ORDERS.get(settings.loop)(budget["regions"], budget["radius"])
            cover = coverage(centres_of(maps, budget["regions"], settings, dataset.region_size), *x.shape[2:])
            for colour in settings.colours:
                fill = COLOURS.get(colour)(x, inputs.model.mean, inputs.model.std)
                start = time.perf_counter()
                seq = search_sequential(inputs.model, x, y, fill, cover, candidates)
                t_seq = time.perf_counter() - start
                totals["seq"] += t_seq
                cells, differing = [], 0
                for chunk in args.chunks:
                    start = time.perf_counter()
                    bat = search_batched(
                        inputs.model, x, y, fill, cover, candidates, chunk=chunk, batch_size=settings.batch_size
                    )
                    t_bat = time.perf_counter() - start
                    totals[chunk] += t_bat
                    cells.append(f"{t_bat:.2f} (x{t_seq / t_bat:.1f})")
                    differ = (seq.stop != bat.stop) | (seq.success != bat.success) | (seq.prediction != bat.prediction)
                    differing += int(differ.sum())
                    if differ.any():
                        print(f"  differing images have min margin {seq.min_margin[differ].max():.2e}")
                label = f"N={budget['regions']}, R={budget['radius']}"
                print(
                    f"| {model_id} | {label} | {colour} | {len(x)} | {t_seq:.2f} | {' | '.join(cells)} | {differing} |"
                )
    print(
        "\nTotal: sequential {:.1f} s; ".format(totals["seq"])
        + "; ".join(f"chunk {c}: {totals[c]:.1f} s (x{totals['seq'] / totals[c]:.1f})" for c in args.chunks)
    )


if __name__ == "__main__":
    main()
