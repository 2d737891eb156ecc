"""Mixed precision against float32 on the same maps: for every model of a finished run, the maps of its
correctly classified pool images (up to `--images`) are computed twice from the same per-image draws,
in float32 and with `precision: mixed` (bfloat16 autocast on a CPU), and compared on what the suite
reads from them: the global and regional Gini (|A|), and the outcome of the noise attack (every type and
budget of the run's config) guided by each. The issue's bar: Gini within 0.005, identical attack
outcomes on at least 99% of the images.

    .venv/bin/python benchmarks/mixed_precision.py results/default/synthetic_shapes [--method ig] [--images 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import yaml

from ineqbench.attacks.inputs import AttackInputs, load_attack_inputs
from ineqbench.attacks.noise import noise_attack
from ineqbench.attacks.settings import NoiseSettings
from ineqbench.attribution.compute import compute_attributions
from ineqbench.attribution.settings import resolve_methods
from ineqbench.benchmarking import environment, write_record
from ineqbench.gini import global_gini, regional_gini


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results/<experiment>/<dataset> of a finished run")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--method", default="ig")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/out/mixed_precision")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    folder = Path(args.results)
    dataset = config["datasets"][folder.name]
    spec = resolve_methods([args.method], config["attribution"].get("custom", {}))[args.method]
    noise = NoiseSettings.of_experiment(config["attacks"], config["seed"])
    rows = []
    for weights in sorted((folder / "models").glob("*.safetensors")):
        inputs = load_attack_inputs(
            str(weights),
            str(weights.with_suffix(".json")),
            None,
            str(folder / "data/test.npz"),
            str(folder / "data/pool.parquet"),
            threads=args.threads,
        )
        n = min(args.images, len(inputs.labels))
        images, labels, pool = inputs.images[:n], inputs.labels[:n], inputs.pool_index[:n]
        maps, outcomes = {}, {}
        for precision in ("float32", "mixed"):
            maps[precision], _ = compute_attributions(
                inputs.model,
                images,
                labels,
                spec,
                seed=config["seed"],
                batch_size=50,
                internal_batch_size=1000,
                device=inputs.device,
                pool_indices=pool,
                precision=precision,
            )
            attacked = AttackInputs(inputs.model, pool, images, labels, maps[precision], inputs.device)
            outcomes[precision] = noise_attack(attacked, noise)
        a32, amx = (torch.from_numpy(np.abs(maps[p])).double() for p in ("float32", "mixed"))
        d_global = (global_gini(a32)[0] - global_gini(amx)[0]).abs()
        d_regional = (
            regional_gini(a32, dataset["region_size"])[0] - regional_gini(amx, dataset["region_size"])[0]
        ).abs()
        same = outcomes["float32"]["fooled"].to_numpy() == outcomes["mixed"]["fooled"].to_numpy()
        per_image = outcomes["float32"].assign(same=same).groupby("pool_index")["same"].all()
        relative = np.linalg.norm((maps["mixed"] - maps["float32"]).reshape(n, -1), axis=1) / np.linalg.norm(
            maps["float32"].reshape(n, -1), axis=1
        )
        rows.append(
            {
                "model": weights.stem,
                "method": spec.id,
                "images": n,
                "max_abs_dgini_global": float(d_global.max()),
                "max_abs_dgini_regional": float(d_regional.max()),
                "mean_gini_global_f32": float(global_gini(a32)[0].mean()),
                "median_relative_map_change": float(np.median(relative)),
                "attack_rows_same": float(same.mean()),
                "images_all_outcomes_same": float(per_image.mean()),
                "attack_rows": len(same),
            }
        )
        print(rows[-1], flush=True)
    csv, md = write_record(
        rows, environment(torch.device("cpu")), args.out, "Mixed precision (bfloat16) against float32"
    )
    print(md.read_text())


if __name__ == "__main__":
    main()
