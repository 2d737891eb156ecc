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
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ineqbench.data.base import ImageDataset, ImageSplit
from ineqbench.registry import Registry

IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png"})
DEFAULT_IMAGE_SIZE = 224
DEFAULT_CROP_PCT = 0.875  # 224 / 256: the classic ImageNet eval ratio

# timm's IMAGENET_DEFAULT_MEAN / _STD (a test checks they agree); literal so that the config check,
# which asks this module for the image size, does not import timm or torchvision
IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]

# name -> the value of torchvision's InterpolationMode (resolved at decode time, for the same reason)
INTERPOLATIONS: Registry[str] = Registry("interpolation")
INTERPOLATIONS.add("bilinear", "bilinear")
INTERPOLATIONS.add("bicubic", "bicubic")


@dataclass(frozen=True)
class Geometry:
    """How a decoded image becomes a model input, and the normalisation the models expect."""

    image_size: int  # the square centre crop
    resize: int  # the shorter side before cropping
    interpolation: str  # a name in INTERPOLATIONS
    mean: list[float]
    std: list[float]
    timm_data_config: str | None = None


def _timm_geometry(name: str) -> Geometry:
    import timm
    from timm.data import resolve_data_config

    try:
        cfg = timm.models.get_pretrained_cfg(name)  # the registry entry only: no network, no weights
    except RuntimeError:  # a known architecture with an unknown tag; an unknown architecture gives None
        cfg = None
    if cfg is None:
        raise ValueError(
            f"timm_data_config: timm has no pretrained config {name!r}; expected an "
            f"'architecture.tag' name such as 'resnet50.a1_in1k' (timm.list_pretrained())"
        )
    data = resolve_data_config(pretrained_cfg=cfg.to_dict())
    _, height, width = data["input_size"]
    if height != width:
        raise ValueError(f"timm_data_config {name!r}: non-square input size {data['input_size']} is not supported")
    if data.get("crop_mode", "center") != "center":
        raise ValueError(f"timm_data_config {name!r}: crop_mode {data['crop_mode']!r} is not supported, only 'center'")
    INTERPOLATIONS.get(data["interpolation"])  # fails early with the valid names
    return Geometry(
        image_size=int(height),
        resize=math.floor(height / data["crop_pct"]),
        interpolation=data["interpolation"],
        mean=[float(v) for v in data["mean"]],
        std=[float(v) for v in data["std"]],
        timm_data_config=name,
    )


def resolve_geometry(
    image_size: int | None = None,
    resize: int | None = None,
    interpolation: str | None = None,
    timm_data_config: str | None = None,
) -> Geometry:
    """The preprocessing from the builder options; defaults 224 / 256 / bilinear / ImageNet mean and std."""
    if timm_data_config:
        explicit = {
            k: v
            for k, v in (("image_size", image_size), ("resize", resize), ("interpolation", interpolation))
            if v is not None
        }
        if explicit:  # two sources of truth would silently disagree
            raise ValueError(f"set either timm_data_config or {', '.join(explicit)}, not both")
        return _timm_geometry(timm_data_config)
    size = DEFAULT_IMAGE_SIZE if image_size is None else int(image_size)
    # default resize keeps the 224/256 ratio at any crop size (exactly 256 for 224)
    resize = math.floor(size / DEFAULT_CROP_PCT) if resize is None else int(resize)
    interpolation = interpolation or "bilinear"
    INTERPOLATIONS.get(interpolation)
    if resize < size:
        raise ValueError(f"resize {resize} is smaller than image_size {size}: the centre crop would pad")
    return Geometry(size, resize, interpolation, list(IMAGENET_DEFAULT_MEAN), list(IMAGENET_DEFAULT_STD))


def image_size_of(options: dict) -> int:
    """The crop size the builder will produce, from its options alone (for the early config check)."""
    keys = ("image_size", "resize", "interpolation", "timm_data_config")
    return resolve_geometry(**{k: options.get(k) for k in keys}).image_size


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
    geometry = resolve_geometry(image_size, resize, interpolation, timm_data_config)
    entries = load_class_index(class_index)
    files = list_images(root, {wnid: label for label, (wnid, _) in enumerate(entries)})
    chosen = choose_subset(len(files), subset, subset_seed)
    size = geometry.image_size
    test = ImageSplit(
        decode([files[i][0] for i in chosen], geometry), np.array([files[i][1] for i in chosen], dtype=np.int64)
    )
    train = ImageSplit(np.zeros((0, 3, size, size), np.uint8), np.zeros(0, np.int64))
    meta = {
        "source": "imagenet_folder",
        "root": str(root),
        "class_index": str(class_index),
        "n_files_found": len(files),
        "subset": subset,
        "subset_seed": subset_seed,
        "resize": geometry.resize,
        "crop": size,
        "interpolation": geometry.interpolation,
        "timm_data_config": geometry.timm_data_config,
        "mean": geometry.mean,
        "std": geometry.std,
    }
    return ImageDataset(train, test, [name for _, name in entries], meta)
