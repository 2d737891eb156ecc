"""Tiny stand-ins for the real data sets' files, written by the tests themselves (no downloads).

- `write_cifar10_batches`: the `cifar-10-batches-py/` folder of the python version of CIFAR-10
  (data_batch_1..5, test_batch, batches.meta), same keys and pixel layout as the real pickles.
- `write_imagenet_folder`: ImageNet validation JPEGs in the ImageFolder layout
  (`val/<wnid>/ILSVRC2012_val_000000NN.JPEG`) and an `imagenet_class_index.json` that may list more
  classes than the folders hold (as the real 1000-class index does for a partial copy).

Both are seeded and take milliseconds at the default sizes, so end-to-end tests can use them freely:

    batches = write_cifar10_batches(tmp_path, n_per_batch=4, seed=0)  # options: {"root": str(batches)}
    val, index = write_imagenet_folder(tmp_path, synthetic_wnids(1000)[:3], per_class=2, seed=0,
                                       index_classes=synthetic_wnids(1000))
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _dump(path: Path, obj: dict) -> None:
    # protocol 3 writes GLOBAL opcodes and _reconstruct'ed arrays like the real (Python 2) files, and
    # bytes natively (protocol 2 under Python 3 would route them through _codecs.encode)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=3)


def write_cifar10_batches(
    root: str | Path,
    n_per_batch: int = 4,
    seed: int = 0,
    pixels: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
) -> Path:
    """Write `root/cifar-10-batches-py/` with `n_per_batch` random images in each of the five train
    batches and the test batch; return that folder. `pixels(labels, rng)` may draw the images
    (uint8 (N, 3, 32, 32)) instead, e.g. a class-dependent picture that models can learn quickly.

    Each batch is a dict with the real keys: b'data' uint8 (N, 3072), each row the 1024 red, 1024 green
    and 1024 blue values of a 32x32 image, row-major; b'labels' a list of ints in 0..9; b'batch_label';
    b'filenames'. batches.meta holds b'label_names' (the ten real class names as bytes).
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i}", f"training batch {i} of 5") for i in range(1, 6)]
    for name, batch_label in [*batches, ("test_batch", "testing batch 1 of 1")]:
        labels = rng.integers(0, 10, n_per_batch)
        _dump(
            folder / name,
            {
                b"batch_label": batch_label.encode(),
                b"labels": [int(v) for v in labels],
                b"data": (
                    rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
                    if pixels is None
                    else pixels(labels, rng).reshape(n_per_batch, 3072)
                ),
                b"filenames": [f"{CIFAR10_CLASSES[v]}_s_{k:06d}.png".encode() for k, v in enumerate(labels)],
            },
        )
    _dump(
        folder / "batches.meta",
        {
            b"num_cases_per_batch": n_per_batch,
            b"label_names": [n.encode() for n in CIFAR10_CLASSES],
            b"num_vis": 3072,
        },
    )
    return folder


def synthetic_wnids(n: int) -> list[str]:
    """`n` distinct wnid-shaped names ('n00000000', 'n00000001', ...), sorted like real wnids."""
    return [f"n{k:08d}" for k in range(n)]


def write_imagenet_folder(
    root: str | Path,
    classes: list[str],
    per_class: int = 2,
    size: tuple[int, int] = (40, 30),
    seed: int = 0,
    index_classes: list[str] | None = None,
) -> tuple[Path, Path]:
    """Write `root/val/<wnid>/ILSVRC2012_val_000000NN.JPEG` (`per_class` images per wnid of `classes`)
    and `root/imagenet_class_index.json`; return (the val folder, the index file).

    Images are seeded random colour gradients plus noise; their (width, height) varies around `size`
    (up to +-25 % per side, so most are non-square). File numbers run 1, 2, ... across classes, like
    the real validation names. The index lists `index_classes` (default: `classes`) in the torchvision /
    Keras format {"0": ["<wnid>", "<wnid>_name"], ...}; it need not contain every folder's wnid, which
    lets a test provoke the unknown-wnid error.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = Path(root)
    val = root / "val"
    number = 0
    for wnid in classes:
        (val / wnid).mkdir(parents=True, exist_ok=True)
        for _ in range(per_class):
            number += 1
            width, height = (int(s + rng.integers(-(s // 4), s // 4 + 1)) for s in size)
            ramp = np.linspace(0, 1, width)[None, :, None] * np.linspace(0, 1, height)[:, None, None]
            colour = rng.uniform(0, 255, 3)
            pixels = ramp * colour + rng.normal(0, 20, (height, width, 3)) + rng.uniform(0, 64, 3)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                val / wnid / f"ILSVRC2012_val_{number:08d}.JPEG", quality=90
            )
    index = {str(label): [wnid, f"{wnid}_name"] for label, wnid in enumerate(index_classes or classes)}
    index_path = root / "imagenet_class_index.json"
    index_path.write_text(json.dumps(index))
    return val, index_path
