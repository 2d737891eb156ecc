"""The tiny networks the unit tests share: [0, 1] pixels in, normalisation inside (as every suite model),
seeded weights, eval mode. Small enough that a test runs in milliseconds, real enough to have the
layers (convolutions, a nonlinearity, a stride) that the code under test must handle."""

from __future__ import annotations

import torch
from torch import nn

from ineqbench.models.wrapper import NormalizedClassifier

MEAN, STD = [0.5] * 3, [0.25] * 3


def conv_net(
    activation: type[nn.Module] | None = nn.Softplus, classes: int = 3, *, seed: int = 0, double: bool = False
) -> NormalizedClassifier:
    """Two 3x3 convolutions (the second strided) with `activation`, then a linear layer, for 3x8x8 images;
    `activation=None` gives a linear classifier (its gradient attribution is constant)."""
    torch.manual_seed(seed)
    if activation is None:
        backbone = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, classes))
    else:
        backbone = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            activation(),
            nn.Conv2d(4, 4, 3, stride=2, padding=1),
            activation(),
            nn.Flatten(),
            nn.Linear(4 * 4 * 4, classes),
        )
    model = NormalizedClassifier(backbone, mean=MEAN, std=STD)
    return (model.double() if double else model).eval()
