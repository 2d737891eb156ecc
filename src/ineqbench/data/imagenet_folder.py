"""`imagenet_folder`: ImageNet validation images in the torchvision ImageFolder layout, plus a class index.

Layout: `root/<wnid>/*.JPEG|jpg|png` and a class index JSON in the Keras / torchvision
`imagenet_class_index.json` format, `{"0": ["n01440764", "tench"], ...}`. Labels are the position of
the folder's wnid in that index, not the folder order, so a folder that holds only some classes keeps
the 1000-class label space of the pretrained models.

Preprocessing is the paper's Resize(256) -> CenterCrop(224) on the decoded RGB image (PIL, through
torchvision.transforms.v2), stored as uint8 CHW. `timm_data_config: <arch.tag>` takes input size,
crop_pct, interpolation, mean and std from timm's pretrained config of that model instead (metadata
only; no weights are downloaded), with resize = floor(image_size / crop_pct) as timm's eval transform.

The train split is empty: ImageNet models are fetched, never trained here. Decoding all 50,000
validation images at 224 px would take 7.5 GB of uint8, so `subset: N` decodes only a seeded random
N of them (the pool of images actually evaluated is drawn later from this test split).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ineqbench.data.base import ImageDataset, ImageSplit
from ineqbench.data.geometry import (
    INTERPOLATIONS,
    Geometry,
    resolve_geometry,
)

IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png"})


def load_class_index(path: str | Path) -> list[tuple[str, str]]:
    """(wnid, human name) per label, in label order, from an `imagenet_class_index.json`-style file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"class index {path} not found: expected a JSON file like torchvision's / "
            f'Keras\' imagenet_class_index.json, {{"0": ["n01440764", "tench"], ...}}'
        )
    raw = json.loads(path.read_text())
    if not isinstance(raw, dict) or not raw or set(raw) != {str(i) for i in range(len(raw))}:
        raise ValueError(f'class index {path}: keys must be the labels "0" .. "{len(raw) - 1}"')
    entries = []
    for label in range(len(raw)):
        entry = raw[str(label)]
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            raise ValueError(f"class index {path}: entry {label} must be [wnid, name], got {entry!r}")
        entries.append((entry[0], entry[1]))
    wnids = [w for w, _ in entries]
    if len(set(wnids)) != len(wnids):
        raise ValueError(f"class index {path}: duplicate wnids")
    return entries


def list_images(root: str | Path, wnid_to_label: dict[str, int]) -> list[tuple[Path, int]]:
    """(file, label) of every image under root/<wnid>/, sorted by wnid folder then file name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"ImageNet folder {root} not found: expected root/<wnid>/*.JPEG "
            f"(torchvision ImageFolder layout of the validation set)"
        )
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in wnid_to_label:
            raise ValueError(
                f"folder {folder} is named {folder.name!r}, which is not a wnid of the class "
                f"index; expected root/<wnid>/ folders only"
            )
        found += [
            (f, wnid_to_label[folder.name])
            for f in sorted(folder.iterdir())
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
        ]
    if not found:
        raise FileNotFoundError(f"no images found in {root}: expected root/<wnid>/*.JPEG|jpg|png")
    return found


def choose_subset(n_files: int, subset: int | None, seed: int) -> np.ndarray:
    """Indices of the files to decode, ascending; a seeded permutation prefix, so a larger subset
    contains a smaller one with the same seed."""
    if subset is None:
        return np.arange(n_files)
    if not 0 < subset <= n_files:
        raise ValueError(f"subset {subset} must be between 1 and the {n_files} images found")
    return np.sort(np.random.default_rng(seed).permutation(n_files)[:subset])


def decode(files: list[Path], geometry: Geometry) -> np.ndarray:
    """uint8 (N, 3, S, S): RGB decode, shorter side to `resize`, centre crop to `image_size`."""
    from PIL import Image
    from torchvision.transforms import InterpolationMode, v2
    from tqdm import tqdm

    transform = v2.Compose(
        [
            v2.Resize(geometry.resize, interpolation=InterpolationMode(INTERPOLATIONS.get(geometry.interpolation))),
            v2.CenterCrop(geometry.image_size),
        ]
    )
    size = geometry.image_size
    images = np.empty((len(files), 3, size, size), dtype=np.uint8)  # preallocated: memory stays bounded
    for i, path in enumerate(tqdm(files, desc="decoding ImageNet images", mininterval=30)):
        with Image.open(path) as image:
            rgb = image.convert("RGB")  # a few validation JPEGs are greyscale or CMYK
        images[i] = np.asarray(transform(rgb)).transpose(2, 0, 1)
    return images


@dataclass(frozen=True)
class _Folder:
    """The folder as listed, before any image is decoded: its geometry, class index, files and the chosen ones."""

    geometry: Geometry
    entries: list[tuple[str, str]]
    files: list[tuple[Path, int]]
    chosen: np.ndarray

    def read(self, start: int, count: int) -> ImageSplit:
        """The chosen images start .. start + count, decoded."""
        part = self.chosen[start : start + count]
        labels = np.array([self.files[i][1] for i in part], dtype=np.int64)
        return ImageSplit(decode([self.files[i][0] for i in part], self.geometry), labels)


def _folder(root, class_index, image_size, resize, interpolation, timm_data_config, subset, subset_seed) -> _Folder:
    geometry = resolve_geometry(image_size, resize, interpolation, timm_data_config)
    entries = load_class_index(class_index)
    files = list_images(root, {wnid: label for label, (wnid, _) in enumerate(entries)})
    return _Folder(geometry, entries, files, choose_subset(len(files), subset, subset_seed))


def build(
    root: str,
    class_index: str,
    image_size: int | None = None,
    resize: int | None = None,
    interpolation: str | None = None,
    timm_data_config: str | None = None,
    subset: int | None = None,
    subset_seed: int = 0,
) -> ImageDataset:
    """An empty train split and the (subset of the) folder's images as the test split."""
    folder = _folder(root, class_index, image_size, resize, interpolation, timm_data_config, subset, subset_seed)
    geometry = folder.geometry
    size = geometry.image_size
    test = folder.read(0, len(folder.chosen))
    train = ImageSplit(np.zeros((0, 3, size, size), np.uint8), np.zeros(0, np.int64))
    meta = {
        "source": "imagenet_folder",
        "root": str(root),
        "class_index": str(class_index),
        "n_files_found": len(folder.files),
        "subset": subset,
        "subset_seed": subset_seed,
        "resize": geometry.resize,
        "crop": size,
        "interpolation": geometry.interpolation,
        "timm_data_config": geometry.timm_data_config,
        "mean": geometry.mean,
        "std": geometry.std,
    }
    return ImageDataset(train, test, [name for _, name in folder.entries], meta)


def reader(
    root: str,
    class_index: str,
    image_size: int | None = None,
    resize: int | None = None,
    interpolation: str | None = None,
    timm_data_config: str | None = None,
    subset: int | None = None,
    subset_seed: int = 0,
) -> tuple[int, Callable[[int, int], ImageSplit]]:
    """Every image of the folder (or of its `subset`) without decoding any: (their number, read(start,
    count) decoding those only). Memory then stays flat in the number of images read in turn (A.7's
    50,000 validation images at 224 px would take 7.5 GB at once)."""
    folder = _folder(root, class_index, image_size, resize, interpolation, timm_data_config, subset, subset_seed)
    return len(folder.chosen), folder.read
