"""The practical bound's radius: the supremum of σ_max(J(z)) over the ε-ball around x, by projected ascent.

By the mean value theorem, ||A(x + δ) - A(x)||_2 <= ||δ||_2 sup_{z on the segment} σ_max(J(z)), so ε times
the supremum over the ball bounds every deviation in it (Wang & Kong's practical bound). The supremum is
estimated, not certified: projected ascent on σ(z) from each start point, whose gradient follows from
the top singular pair (u, v) of J(z) (Danskin: ∇σ = ∇_z <u, J(z) v> for a simple top singular value),
which is the Hessian-vector product of φ(z) = <u, A(z)> along v, one forward-mode pass over the reverse
pass through A (A is itself a gradient for IG and the plain gradient: third derivatives of the network).
The ball is the whole ε-ball, label flips included: the segment from x to an admissible point may cross
them, and a larger supremum only makes the bound safer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import grad, jvp

from ineqbench.bounds.differentiable import AttributionMap
from ineqbench.threats import THREAT_NORMS


def sigma_gradient(attribution: AttributionMap, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """∇_z σ_max(J(z)) at z, given J(z)'s top right singular vector v (unit l2 norm, shape of z)."""
    shape = z.shape
    with torch.no_grad():
        _, jv = jvp(lambda w: attribution(w.view(shape)).reshape(-1), (z.reshape(-1),), (v.reshape(-1),))
    u = jv / jv.norm().clamp_min(1e-30)

    def phi(w: torch.Tensor) -> torch.Tensor:
        return (attribution(w.view(shape)).reshape(-1) * u).sum()

    with torch.no_grad():
        return jvp(grad(phi), (z.reshape(-1),), (v.reshape(-1),))[1].view(shape)


@dataclass(frozen=True)
class AscentStep:
    start: int  # which start point the path began at
    step: int  # 0: the start itself
    sigma: float
    spectrum: Any  # what `spectrum` returned there (the bound's radius comes from it)


def ascend_sigma(
    attribution: AttributionMap,
    x: torch.Tensor,
    starts: list[torch.Tensor],
    spectrum: Callable[[torch.Tensor, torch.Tensor | None], tuple[float, torch.Tensor, Any]],
    *,
    norm: str,
    epsilon: float,
    steps: int,
) -> list[AscentStep]:
    """Every point of `steps` projected ascent steps on σ from each start (in the ball around x, clamped to
    [0, 1]): PGD's geometry with step 2.5 ε / steps. `spectrum(z, v0)` returns (σ, top right singular
    vector, payload) at z, warm-started from v0 (the previous point's vector)."""
    threat = THREAT_NORMS.get(norm)
    step_size = 2.5 * epsilon / max(steps, 1)
    path = []
    for s, start in enumerate(starts):
        z, vector = start.detach(), None
        for t in range(steps + 1):
            sigma, vector, payload = spectrum(z, vector)
            path.append(AscentStep(s, t, sigma, payload))
            if t == steps or sigma == 0:
                break
            g = sigma_gradient(attribution, z, vector)
            delta = (z - x).unsqueeze(0) + step_size * threat.ascent_direction(g.unsqueeze(0))
            z = (x + threat.project(delta, epsilon)[0]).clamp(0, 1).detach()
    return path
