"""The bounds as formulas: Euclidean radii from σ_max, cosine lower bounds from a radius. Pure functions.

Notation (docs: the attribution-bounds formulation): A(x) in R^d, J = dA/dx, perturbation δ.

- l2 ball, first order: ||A(x + δ) - A(x)||_2 ≈ ||J δ||_2 <= ε σ_max(J).
- l∞ ball: the linear quantity is ||J||_{∞→2}, NP-hard in general. Two valid cheap bounds:
  ||δ||_2 <= sqrt(d) ||δ||_∞ gives sqrt(d) σ_max, and ||J δ||_2 = ||Σ_j J[:, j] δ_j||_2 <= ε Σ_j ||J[:, j]||_2
  (needs the full Jacobian); their minimum is used.
- Cosine from a Euclidean radius r: every A' with ||A' - A|| <= r makes an angle with A of at most
  arcsin(r / ||A||) when r < ||A|| (the tangent from the origin to the ball touches it there), so
  cos(A, A') >= sqrt(1 - r² / ||A||²); when r >= ||A|| the ball contains the origin and any direction,
  and the only bound is -1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ineqbench.registry import Registry


def l2_radius(epsilon: float, sigma_max: float) -> float:
    """First-order Euclidean deviation bound under an l2 ball of radius ε: ε σ_max."""
    return epsilon * sigma_max


def linf_radius(epsilon: float, sigma_max: float, d: int, column_norm_sum: float | None = None) -> float:
    """First-order Euclidean deviation bound under an l∞ ball: ε min(sqrt(d) σ_max, Σ_j ||J[:, j]||_2).

    `column_norm_sum` is None when the full Jacobian was not formed (matrix-free σ_max only).
    """
    candidates = [math.sqrt(d) * sigma_max]
    if column_norm_sum is not None:
        candidates.append(column_norm_sum)
    return epsilon * min(candidates)


# Threat norm -> radius; keyed like the attacks' threat norms (`ineqbench.threats.THREAT_NORMS`).
EUCLIDEAN_RADII: Registry[Callable[..., float]] = Registry("bound threat norm")
EUCLIDEAN_RADII.add("l2", lambda epsilon, sigma_max, d=None, column_norm_sum=None: l2_radius(epsilon, sigma_max))
EUCLIDEAN_RADII.add("linf", linf_radius)


def euclidean_radius(
    norm: str, epsilon: float, sigma_max: float, d: int, column_norm_sum: float | None = None
) -> float:
    """The first-order Euclidean bound for a threat norm ("l2" or "linf")."""
    return EUCLIDEAN_RADII.get(norm)(epsilon, sigma_max, d=d, column_norm_sum=column_norm_sum)


def cosine_lower_bound(radius: float, attribution_norm: float) -> float:
    """The smallest cos(A(x), A') over ||A' - A(x)||_2 <= radius: sqrt(1 - r²/||A||²), or -1 if r >= ||A||."""
    if radius < 0:
        raise ValueError(f"radius must be non-negative, got {radius}")
    if radius >= attribution_norm:
        return -1.0
    return math.sqrt(1.0 - (radius / attribution_norm) ** 2)
