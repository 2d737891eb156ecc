"""Integrated Gradients' quadrature rules: the path points a_k in [0, 1] and their weights w_k, as
captum defines them (captum stays the reference: tests/unit/attribution/test_quadrature.py), written
here so a job needs no captum. captum's trapezoid halves the end weights of 1/n (they sum to
1 - 1/n, not 1); kept, since the point is to compute what captum computes."""

from __future__ import annotations

import numpy as np

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def quadrature(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights), float64, of rule `method` with `n_steps` points."""
    if method not in RULES:
        raise ValueError(f"unknown integration rule {method!r}; valid: {', '.join(RULES)}")
    if n_steps < 1 or (n_steps < 2 and method != "gausslegendre"):
        raise ValueError(f"{method} needs at least {1 if method == 'gausslegendre' else 2} steps, not {n_steps}")
    n = n_steps
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1), 0.5 * weights
    weights = np.full(n, 1 / n)
    alphas = {
        "riemann_left": lambda: np.linspace(0, 1 - 1 / n, n),
        "riemann_right": lambda: np.linspace(1 / n, 1, n),
        "riemann_middle": lambda: np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n),
        "riemann_trapezoid": lambda: np.linspace(0, 1, n),
    }[method]()
    if method == "riemann_trapezoid":
        weights[[0, -1]] /= 2
    return alphas, weights
