"""Projected gradient descent (Madry et al., 2018) in pixel space, l∞ and l2.

Every model of the suite takes [0, 1] pixels, so ε, the step size and the clip to the valid range
are in pixel units for every architecture. The threat norms are a registry, so an l1 or a
perceptual threat is one more entry, not another branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ineqbench.threat_norms import THREAT_NORMS


@dataclass(frozen=True)
class ThreatNorm:
    """How a norm ball is sampled, stepped in and projected onto."""

    random_start: Callable[[torch.Tensor, float], torch.Tensor]
    ascent_direction: Callable[[torch.Tensor], torch.Tensor]
    project: Callable[[torch.Tensor, float], torch.Tensor]


def _flat_norm(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))


THREAT_NORMS.add(
    "linf",
    ThreatNorm(
        random_start=lambda x, eps: torch.empty_like(x).uniform_(-eps, eps),
        ascent_direction=torch.sign,
        project=lambda delta, eps: delta.clamp(-eps, eps),
    ),
)


def _l2_random_start(x: torch.Tensor, eps: float) -> torch.Tensor:
    direction = torch.randn_like(x)
    radius = eps * torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device)
    return direction / _flat_norm(direction) * radius


THREAT_NORMS.add(
    "l2",
    ThreatNorm(
        random_start=_l2_random_start,
        ascent_direction=lambda g: g / _flat_norm(g),
        project=lambda delta, eps: delta * (eps / _flat_norm(delta)).clamp(max=1.0),
    ),
)


def pgd(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    random_start: bool = True,
) -> torch.Tensor:
    """Untargeted PGD on the cross-entropy; returns adversarial images in [0, 1].

    `step_size` defaults to 2.5 ε / steps (Madry et al.), which reaches the boundary of the ball
    from any start within the step budget.
    """
    if epsilon <= 0 or steps <= 0:
        return images.detach().clone()
    threat = THREAT_NORMS.get(norm)
    alpha = 2.5 * epsilon / steps if step_size is None else step_size
    delta = threat.random_start(images, epsilon) if random_start else torch.zeros_like(images)
    delta = ((images + delta).clamp(0, 1) - images).detach()
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(images + delta), labels)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = delta.detach() + alpha * threat.ascent_direction(grad)
        delta = threat.project(delta, epsilon)
        delta = ((images + delta).clamp(0, 1) - images).detach()
    return (images + delta).detach()
