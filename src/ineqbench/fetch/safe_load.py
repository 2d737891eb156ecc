"""Read a downloaded checkpoint without trusting it, and keep only safetensors afterwards.

Published checkpoints are often pickles (torch.save, some written with dill). Unpickling runs any
code the file names, so a pickle is read only with `torch.load(weights_only=True)`, whose unpickler
rebuilds tensors, containers and primitives and refuses every other global. A few harmless globals
that real checkpoints carry (numpy scalars for a stored accuracy, argparse.Namespace for stored
arguments) are allowed by name; a user can extend the list per model (`allow_globals`) after reading
the refusal message, which names the global. The result is converted once to safetensors, which
cannot hold code, and only that file is read from then on.
"""

from __future__ import annotations

import argparse
import importlib
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file

SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024


class UnsafeCheckpointError(RuntimeError):
    """The pickle names a global outside the allow-list; it was not executed."""


def _default_allowed() -> list:
    allowed: list = [argparse.Namespace]
    import numpy as np

    # numpy moved its pickle helpers from numpy.core to numpy._core in 2.0; old files name either
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            allowed.append(importlib.import_module(module).scalar)
        except (ImportError, AttributeError):
            pass
    allowed += [np.dtype, np.ndarray, type(np.dtype(np.float64)), type(np.dtype(np.float32)), type(np.dtype(np.int64))]
    return allowed


def _resolve(name: str):
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"allow_globals entry {name!r} is not an importable 'module.attribute' name") from None


def is_safetensors(path: str | Path) -> bool:
    """safetensors files open with an 8-byte little-endian header length and a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 0 < n < SAFETENSORS_MAX_HEADER and head[8:9] == b"{"


def load_untrusted(path: str | Path, allow_globals: Iterable[str] = ()) -> object:
    """The checkpoint's content (tensors in plain containers), never running code from the file."""
    if is_safetensors(path):
        return load_file(str(path))
    allowed = _default_allowed() + [_resolve(name) for name in allow_globals]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = next(
            (line.strip() for line in str(error).splitlines() if "GLOBAL" in line), str(error).splitlines()[0]
        )
        unsafe = _unsafe_globals(path)
        raise UnsafeCheckpointError(
            f"{path} was refused: unpickling it needs {', '.join(unsafe) or 'a global outside the allow-list'}, "
            "which could run code, so nothing in it was executed. If you trust the file and the name is a plain "
            "data type, add it to the model's source_options.allow_globals; otherwise convert the file to "
            f"safetensors where you trust it. ({reason})"
        ) from None


def _unsafe_globals(path: str | Path) -> list[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # legacy (non-zip) pickles are not scanned by torch; the refusal still stands
        return []


def tensors_only(state: Mapping) -> dict[str, torch.Tensor]:
    """The tensor entries of a state dict, contiguous, on the CPU (what safetensors stores)."""
    return {k: v.detach().cpu().contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
