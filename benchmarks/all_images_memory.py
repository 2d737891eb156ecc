"""Peak memory of the all-images scoring (`score_all_images`, A.7's per-class inequality over a whole
validation set) against the number of images: on a stand-in ImageFolder of `--images` JPEGs (at least
5,000), each N runs in a fresh process and reports the growth of its peak resident memory (VmHWM) over
the job, on the CPU, or its peak GPU allocation. Streaming holds one shard of decoded images and one
batch of maps, so the peak should not grow with N; the record gives peak(N) / peak(smallest N).

    .venv/bin/python benchmarks/all_images_memory.py --images 5000 --out benchmarks/results/all_images_memory
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the stand-in folder is written as the tests write theirs


def one_run(args: argparse.Namespace) -> None:
    """In a fresh process: score the first `--n` images of the folder and print the peak as JSON."""
    import torch

    from ineqbench.attribution.methods import resolve_methods
    from ineqbench.benchmarking import bench_device, peak_memory
    from ineqbench.inequality.all_images import score_all_images

    device = bench_device(args.threads)
    options = {"root": args.root, "class_index": args.index, "image_size": args.size, "resize": args.size,
               "subset": args.n, "subset_seed": 0}  # fmt: skip
    settings = {"seed": 0, "batch_size": 50, "internal_batch_size": 1000, "precision": "float32",
                "transforms": ["abs"], "region_size": 8, "shard_images": args.shard}  # fmt: skip
    with tempfile.TemporaryDirectory() as work, peak_memory(device) as peak:
        score_all_images(
            weights_path=args.weights, card_path=args.card, dataset={"builder": "imagenet_folder", "options": options},
            method=resolve_methods([args.method], {})[args.method].as_dict(), settings=settings,
            shards_dir=f"{work}/shards", out_path=f"{work}/scores.parquet", threads=args.threads,
        )  # fmt: skip
    print(json.dumps({"n": args.n, "peak_mib": peak["peak_mib"], "device": str(device), "torch": torch.__version__}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64, help="decoded image side")
    parser.add_argument("--shard", type=int, default=500)
    parser.add_argument("--method", default="ixg")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/all_images_memory")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    for name in ("n", "root", "index", "weights", "card"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS, type=int if name == "n" else str)
    args = parser.parse_args()
    if args.one:
        one_run(args)
        return

    import torch

    from ineqbench.benchmarking import environment, write_record
    from ineqbench.models.architectures import build_classifier
    from ineqbench.models.checkpoint import save_checkpoint
    from ineqbench.models.spec import ModelSpec
    from tests.helpers.data import synthetic_wnids, write_imagenet_folder

    with tempfile.TemporaryDirectory() as work:
        wnids = synthetic_wnids(10)
        val, index = write_imagenet_folder(work, wnids, per_class=args.images // 10, size=(80, 60), seed=0)
        spec = ModelSpec(id="stand_in", dataset="stand_in", arch="test_resnet")
        model = build_classifier(spec, 10, [0.5] * 3, [0.25] * 3)
        record = {"spec": spec.as_dict(), "num_classes": 10, "mean": [0.5] * 3, "std": [0.25] * 3}
        save_checkpoint(model, f"{work}/m.safetensors", record, f"{work}/m.json")
        rows = []
        for n in (args.images // 5, args.images // 2, args.images):
            command = [sys.executable, __file__, "--one", "--n", str(n), "--root", str(val), "--index", str(index),
                       "--weights", f"{work}/m.safetensors", "--card", f"{work}/m.json", "--size", str(args.size),
                       "--shard", str(args.shard), "--method", args.method, "--threads", str(args.threads)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    smallest = rows[0]["peak_mib"]
    for row in rows:
        row["ratio_to_smallest_n"] = row["peak_mib"] / smallest
    notes = (
        f"Stand-in: {args.images} JPEGs of about 80×60 px in 10 classes, decoded to {args.size} px; test_resnet "
        f"(random weights), {args.method}, shards of {args.shard} images. Each N in a fresh process."
    )
    csv, md = write_record(rows, environment(torch.device(rows[0]["device"])), args.out,
                           "Peak memory of the all-images scoring against N", notes)  # fmt: skip
    print(md.read_text())


if __name__ == "__main__":
    main()
