"""Checkpoint layouts: where the classifier's weights sit inside a published file, by name.

Each layout turns the loaded object into (the bare network's state dict, the normalisation the file
carries, if any). The bare network then goes inside `NormalizedClassifier`, so every model of the
suite takes [0, 1] pixels whatever its file looked like.

- `robust_models_transfer` (MadryLab `robustness`): a dict with `model` (older: `state_dict`); keys
  `module.model.*` are the classifier (torchvision names), `module.attacker.model.*` a duplicate, and
  `module.normalizer.new_mean/new_std` the normalisation, shaped (3, 1, 1).
- `robustbench`: a state dict under `state_dict` or bare, keys with `module.` and/or `model.`
  prefixes (RobustBench strips both); ImageNet entries wrap the network as
  `Sequential(normalize=ImageNormalizer(mean, std), model=net)`, so `normalize.mean/std` may appear.
- `plain`: a bare state dict (timm, torchvision, our own safetensors).
- `auto`: the first of the above whose signature the file shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from ineqbench.fetch.safe_load import tensors_only
from ineqbench.registry import Registry


@dataclass(frozen=True)
class Extracted:
    state: dict[str, torch.Tensor]  # the bare network's weights
    mean: list[float] | None  # normalisation stored in the file, if any
    std: list[float] | None
    dropped: int  # keys left out (duplicates, optimiser state, normaliser buffers)


@dataclass(frozen=True)
class Layout:
    extract: Callable[[object], Extracted]
    matches: Callable[[object], bool]
    description: str


LAYOUTS: Registry[Layout] = Registry("checkpoint layout")


def _as_mapping(obj: object, where: str) -> Mapping:
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected a dict of tensors, found {type(obj).__name__}")
    return obj


def _inner_state(obj: object) -> Mapping:
    """The state dict inside a training checkpoint (`model` or `state_dict`), else the object itself."""
    mapping = _as_mapping(obj, "checkpoint")
    for key in ("model", "state_dict"):
        if key in mapping and isinstance(mapping[key], Mapping):
            return mapping[key]
    return mapping


def _vector(t: torch.Tensor | None) -> list[float] | None:
    return None if t is None else [float(v) for v in t.reshape(-1)]


def _strip(state: Mapping, prefix: str) -> dict:
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()}


def _robust_models_transfer(obj: object) -> Extracted:
    state = tensors_only(_inner_state(obj))
    prefix = "module.model."
    kept = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not kept:
        raise ValueError(
            f"no '{prefix}*' keys in the checkpoint (first keys: {list(state)[:5]}); "
            "is it a robust-models-transfer file? Try layout: robustbench or plain"
        )
    return Extracted(
        kept,
        _vector(state.get("module.normalizer.new_mean")),
        _vector(state.get("module.normalizer.new_std")),
        len(state) - len(kept),
    )


_NORMALISER_KEYS = {
    "normalize.mean": "mean",
    "normalize.std": "std",
    "normalizer.mean": "mean",
    "normalizer.std": "std",
    "mu": "mean",
    "sigma": "std",
}


def _robustbench(obj: object) -> Extracted:
    state = _strip(_strip(tensors_only(_inner_state(obj)), "module."), "model.")
    norm = {_NORMALISER_KEYS[k]: state.pop(k) for k in list(state) if k in _NORMALISER_KEYS}
    return Extracted(state, _vector(norm.get("mean")), _vector(norm.get("std")), len(norm))


def _plain(obj: object) -> Extracted:
    state = _as_mapping(obj, "checkpoint")
    tensors = tensors_only(state)
    return Extracted(tensors, None, None, len(state) - len(tensors))


def _keys(obj: object) -> list[str]:
    try:
        return list(_inner_state(obj))
    except ValueError:
        return []


LAYOUTS.add(
    "robust_models_transfer",
    Layout(
        _robust_models_transfer,
        lambda obj: any(k.startswith("module.model.") for k in _keys(obj)),
        "MadryLab robustness checkpoint: module.model.* + module.normalizer.*",
    ),
)
LAYOUTS.add(
    "robustbench",
    Layout(
        _robustbench,
        lambda obj: (
            isinstance(obj, Mapping)
            and ("state_dict" in obj or any(k.startswith(("module.", "model.", "normalize.")) for k in _keys(obj)))
        ),
        "RobustBench file: state_dict or bare, module./model. prefixes, optional normalize.mean/std",
    ),
)
LAYOUTS.add("plain", Layout(_plain, lambda obj: isinstance(obj, Mapping), "a bare state dict"))
AUTO_ORDER = ("robust_models_transfer", "robustbench", "plain")


def extract(obj: object, layout: str = "auto") -> tuple[str, Extracted]:
    """(the layout used, what it extracted); `auto` tries the layouts in AUTO_ORDER."""
    if layout != "auto":
        return layout, LAYOUTS.get(layout).extract(obj)
    for name in AUTO_ORDER:
        if LAYOUTS.get(name).matches(obj):
            return name, LAYOUTS.get(name).extract(obj)
    raise ValueError(f"no checkpoint layout recognises a {type(obj).__name__}; valid layouts: {', '.join(LAYOUTS)}")
