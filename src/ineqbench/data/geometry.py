"""The geometry of an ImageNet-style input (crop size, resize, interpolation, normalisation) from the
builder's options alone, without torch: the config check asks it for the image size."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ineqbench.registry import Registry

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
