"""The one uint8 -> model-input path, apart from the image-set contract (`ineqbench.data.base`) so that
reading a data set imports no torch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def pixel_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int, device: torch.device | str = "cpu"
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """(start, pixels in [0, 1] float32, labels) batches on `device`: the one uint8 -> model-input path."""
    for start in range(0, len(labels), batch_size):
        x = torch.from_numpy(images[start : start + batch_size]).float().div_(255.0).to(device)
        yield start, x, torch.from_numpy(labels[start : start + batch_size]).to(device)
