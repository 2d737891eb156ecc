"""`cifar10`: CIFAR-10 from the official "python version" batch files (`cifar-10-batches-py/`).

The batches are pickles, and unpickling can run arbitrary code, so they are read with a restricted
unpickler that resolves only the few numpy globals the real files use (an array is pickled as
`_reconstruct(ndarray, ...)` + a `dtype`); everything else is refused before it is imported. Each
row of `data` is 3072 uint8 values, channels first and row-major (1024 red, 1024 green, 1024 blue),
so `reshape(N, 3, 32, 32)` is already the suite's uint8 NCHW layout. Nothing is downloaded unless
`download: true`, which hands the job to torchvision (it checks the archive's MD5).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ineqbench.data.base import ImageDataset, ImageSplit

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
META_FILE = "batches.meta"
EXPECTED_FILES = [*TRAIN_FILES, *TEST_FILES, META_FILE]
IMAGE_SIZE = 32
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# The usual CIFAR-10 channel statistics (train split), recorded in meta for models fetched with them.
MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]


def _numpy_reconstruct() -> Any:
    # numpy 2 moved numpy.core to numpy._core; importing the old name only warns, so prefer the new one
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


# (module, name) -> object: exactly the globals of the real batch files (written by Python 2 / numpy 1,
# hence numpy.core) and of the same data re-pickled by numpy 2 (numpy._core).
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for data-only pickles: plain containers, bytes, numbers and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: a CIFAR-10 batch holds only dicts, bytes, "
                f"lists, ints and numpy arrays"
            ) from None


def load_batch(path: str | Path) -> dict:
    """One batch file as a dict with bytes keys (b'data', b'labels', ...), read without running code."""
    with open(path, "rb") as f:
        # encoding='bytes': the real files come from Python 2, whose str keys are bytes, not text
        return RestrictedUnpickler(f, encoding="bytes").load()


def batches_folder(root: str | Path) -> Path:
    """`root` itself if it is the batches folder (holds batches.meta or has its name), else root/FOLDER."""
    root = Path(root)
    if root.name == FOLDER or (root / META_FILE).exists():
        return root
    return root / FOLDER


def _missing(folder: Path) -> list[str]:
    return [name for name in EXPECTED_FILES if not (folder / name).is_file()]


def _download(folder: Path) -> None:
    import torchvision
    from torchvision.datasets.utils import download_and_extract_archive

    # torchvision's own URL, file name and MD5; only the download and extraction, then our restricted
    # reader (constructing torchvision's CIFAR10 would unpickle the batches with full trust)
    cifar = torchvision.datasets.CIFAR10
    download_and_extract_archive(cifar.url, str(folder.parent), filename=cifar.filename, md5=cifar.tgz_md5)


def _read_split(folder: Path, files: list[str], limit: int | None, what: str) -> ImageSplit:
    images, labels, have = [], [], 0
    for name in files:
        if limit is not None and have >= limit:
            break  # the first N images need only the first batches
        batch = load_batch(folder / name)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * IMAGE_SIZE * IMAGE_SIZE:
            raise ValueError(f"{folder / name}: b'data' must be (N, 3072) uint8, got {data.shape}")
        images.append(data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
        have += len(data)
    if limit is not None and limit > have:
        raise ValueError(f"{what} = {limit} exceeds the {have} images of {', '.join(files)} in {folder}")
    if not images:  # limit 0: an empty split (e.g. fetched models that are never trained here)
        return ImageSplit(np.zeros((0, 3, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros(0, np.int64))
    pixels, targets = np.concatenate(images), np.concatenate(labels)
    if limit is not None:
        pixels, targets = pixels[:limit], targets[:limit]
    return ImageSplit(np.ascontiguousarray(pixels), targets)


def build(root: str, download: bool = False, n_train: int | None = None, n_test: int | None = None) -> ImageDataset:
    """CIFAR-10 train (50,000) and test (10,000), or their first `n_train` / `n_test` images."""
    folder = batches_folder(root)
    if _missing(folder) and download:
        _download(folder)
    missing = _missing(folder)
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found: expected the folder {folder} with the files {', '.join(EXPECTED_FILES)} "
            f"(missing: {', '.join(missing)}); set download: true on a machine with internet, or copy the "
            f"python version of CIFAR-10 from {URL} there"
        )
    class_names = [
        n.decode() if isinstance(n, bytes) else str(n) for n in load_batch(folder / META_FILE)[b"label_names"]
    ]
    return ImageDataset(
        train=_read_split(folder, TRAIN_FILES, n_train, "n_train"),
        test=_read_split(folder, TEST_FILES, n_test, "n_test"),
        class_names=class_names,
        meta={"source": "cifar10", "root": str(folder), "mean": MEAN, "std": STD},
    )
