"""The practical bound's ascent on σ_max, on a separable model whose supremum over the ball is known in
closed form: logit(x) = Σ_i w_i softplus_β(x_i - t) / β, so the gradient map is A_i = w_i s(β(x_i - t))
and J = diag(w_i β s'(β(x_i - t))). Far from t the first-order bound at x is too small for the worst
deviation in the ball; the ascent reaches the supremum, and ε times it bounds every deviation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ineqbench.bounds.differentiable import attribution_map
from ineqbench.bounds.formulas import euclidean_radius
from ineqbench.bounds.spectral import sigma_max
from ineqbench.bounds.sup_sigma import ascend_sigma, sigma_gradient

BETA, T = 12.0, 0.5
WEIGHTS = torch.tensor([1.0, 2.0, 1.5, 0.5], dtype=torch.float64).view(1, 2, 2)


class Separable(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (WEIGHTS * nn.functional.softplus(BETA * (x - T)) / BETA).flatten(1).sum(1)
        return torch.stack([score, torch.zeros_like(score)], dim=1)


def slope(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(BETA * (z - T))
    return WEIGHTS * BETA * s * (1 - s)  # the diagonal of J


def spectrum(attribution):
    def at(z, v0):
        estimate = sigma_max("lanczos", attribution, z, v0=v0, max_iters=8, tol=1e-12)
        return estimate.sigma_max, estimate.vector, estimate

    return at


X = torch.tensor([0.20, 0.25, 0.85, 0.70], dtype=torch.float64).view(1, 2, 2)


def test_the_gradient_of_sigma_max_is_the_derivative_of_the_top_diagonal_entry():
    attribution = attribution_map("gradient", Separable().eval(), 0)
    estimate = sigma_max("lanczos", attribution, X, max_iters=8, tol=1e-12)
    g = sigma_gradient(attribution, X, estimate.vector)
    i = int(slope(X).flatten().argmax())
    z = X.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(slope(z).flatten()[i], z)
    assert torch.allclose(g, expected, atol=1e-9)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_ascent_reaches_the_supremum_and_bounds_every_deviation_that_the_first_order_bound_misses(norm):
    epsilon = 0.2
    attribution = attribution_map("gradient", Separable().eval(), 0)
    path = ascend_sigma(attribution, X, [X], spectrum(attribution), norm=norm, epsilon=epsilon, steps=20)
    # closed form: each coordinate moves at most ε towards t (l∞; in l2 the best single coordinate does),
    # and σ_max is the largest diagonal entry
    towards = X + torch.clamp(T - X, -epsilon, epsilon)
    supremum = float(slope(towards).max())
    found = max(step.sigma for step in path)
    assert found == pytest.approx(supremum, rel=2e-3) and found <= supremum * (1 + 1e-9)
    # the worst deviation in the ball, coordinate by coordinate (l∞); l2 puts all of ε on the best coordinate
    a0 = attribution(X)
    shifts = [X + epsilon * sign * torch.eye(4, dtype=X.dtype)[i].view(1, 2, 2) for i in range(4) for sign in (1, -1)]
    if norm == "linf":
        shifts.append(X + epsilon * torch.sign(T - X))
    worst = max(float((attribution(z.clamp(0, 1)) - a0).norm()) for z in shifts)
    first_order = euclidean_radius(norm, epsilon, float(slope(X).max()), 4, None)
    practical = euclidean_radius(norm, epsilon, found, 4, None)  # l∞: the ball's l2 radius is ε sqrt(d)
    assert first_order < worst <= practical
