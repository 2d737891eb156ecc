"""Every classifier of the suite takes [0, 1] pixels; its normalisation lives inside the module.

So IG baselines, noise σ, ε and occlusion colours are pixel units for every architecture, and a
constant given in normalised units converts through `mean` and `std` (see `to_pixel_units`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class NormalizedClassifier(nn.Module):
    """(x - mean) / std, then the backbone. mean and std are buffers, so they travel with the weights."""

    def __init__(self, backbone: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.backbone((pixels - self.mean) / self.std)


def to_pixel_units(sigma_normalised: float, std: Sequence[float]) -> torch.Tensor:
    """A per-channel σ in pixel units for a σ given in normalised units: σ_pixel = σ_norm * std_c."""
    return sigma_normalised * torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
