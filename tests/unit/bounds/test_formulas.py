"""The bound formulas: hand-checked values, and the cosine bound attained at the tangent point."""

from __future__ import annotations

import math

import pytest
import torch

from ineqbench.bounds.formulas import cosine_lower_bound, euclidean_radius, l2_radius, linf_radius


def test_l2_radius():
    assert l2_radius(0.5, 3.0) == 1.5
    assert euclidean_radius("l2", 0.5, 3.0, d=10) == 1.5


def test_linf_radius_takes_the_smaller_valid_bound():
    # sqrt(d) σ = 10 * 2 = 20 against a column-norm sum of 12 or 30.
    assert linf_radius(0.1, 2.0, 100) == pytest.approx(2.0)
    assert linf_radius(0.1, 2.0, 100, column_norm_sum=12.0) == pytest.approx(1.2)
    assert linf_radius(0.1, 2.0, 100, column_norm_sum=30.0) == pytest.approx(2.0)
    assert euclidean_radius("linf", 0.1, 2.0, d=100, column_norm_sum=12.0) == pytest.approx(1.2)
    with pytest.raises(KeyError, match="linf"):
        euclidean_radius("l8", 0.1, 2.0, d=100)


def test_linf_radius_is_a_valid_bound_for_a_matrix():
    """||J δ||_2 <= linf_radius for sign vectors δ (the vertices of the l∞ ball, where the max sits)."""
    gen = torch.Generator().manual_seed(0)
    J = torch.randn(6, 6, generator=gen, dtype=torch.float64)
    eps = 0.3
    radius = linf_radius(eps, float(torch.linalg.matrix_norm(J, 2)), 6, float(J.norm(dim=0).sum()))
    signs = torch.tensor([[(k >> i) & 1 for i in range(6)] for k in range(64)], dtype=torch.float64) * 2 - 1
    assert float((eps * signs @ J.T).norm(dim=1).max()) <= radius


def test_cosine_bound_attained_at_the_tangent_point():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, generator=gen, dtype=torch.float64)
    R = float(a.norm())
    u = torch.randn(50, generator=gen, dtype=torch.float64)
    u = u - (u @ a) / R**2 * a
    u = u / u.norm()
    for r in (0.01 * R, 0.5 * R, 0.99 * R):
        # The tangent point p = a + w with |w| = r and w ⊥ p: w = -(r²/R²) a + sqrt(r² - r⁴/R²) u.
        w = -(r**2 / R**2) * a + math.sqrt(r**2 - r**4 / R**2) * u
        p = a + w
        assert float(w.norm()) == pytest.approx(r, rel=1e-12)
        cos = float(a @ p / (a.norm() * p.norm()))
        assert abs(cos - cosine_lower_bound(r, R)) < 1e-12
        # No other point of the sphere does worse.
        others = torch.randn(2000, 50, generator=gen, dtype=torch.float64)
        others = a + r * others / others.norm(dim=1, keepdim=True)
        cosines = others @ a / (others.norm(dim=1) * R)
        assert float(cosines.min()) >= cosine_lower_bound(r, R) - 1e-12


def test_cosine_bound_trivial_when_the_ball_reaches_the_origin():
    assert cosine_lower_bound(2.0, 2.0) == -1.0
    assert cosine_lower_bound(3.0, 2.0) == -1.0
    assert cosine_lower_bound(1.0, 0.0) == -1.0
    assert cosine_lower_bound(0.0, 2.0) == 1.0
    with pytest.raises(ValueError):
        cosine_lower_bound(-1.0, 2.0)
