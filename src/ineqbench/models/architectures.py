"""Build a pixel-space classifier from a spec: a timm architecture inside `NormalizedClassifier`."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ineqbench.models import cifar  # noqa: F401  (registers cifar_resnet18 and cifar_densenet121 with timm)
from ineqbench.models.spec import ModelSpec
from ineqbench.models.wrapper import NormalizedClassifier


def build_classifier(
    spec: ModelSpec, num_classes: int, mean: Sequence[float], std: Sequence[float]
) -> NormalizedClassifier:
    """A freshly initialised (seeded by spec.seed) timm model with normalisation inside."""
    import timm

    torch.manual_seed(spec.seed)
    backbone = timm.create_model(spec.arch, pretrained=False, num_classes=num_classes, **spec.arch_kwargs)
    return NormalizedClassifier(backbone, mean, std)
