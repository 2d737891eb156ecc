"""σ_max of the attribution Jacobian: matrix-free against dense, and analytic cases known exactly."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ineqbench.bounds.differentiable import attribution_map
from ineqbench.bounds.spectral import (
    SIGMA_MAX_METHODS,
    dense_jacobian,
    dense_spectrum,
    lanczos,
    power_iteration,
    sigma_max,
)
from ineqbench.models.wrapper import NormalizedClassifier

SHAPE = (3, 8, 8)  # d = 192


def smooth_net() -> nn.Module:
    torch.manual_seed(0)
    backbone = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.Softplus(beta=2.0),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5),
    )
    return NormalizedClassifier(backbone, mean=[0.5] * 3, std=[0.25] * 3).double().eval()


class Quadratic(nn.Module):
    """logit_0(x) = x^T Q x / 2 (x flattened), logit_1 = 0: the gradient attribution is Q x, its Jacobian Q."""

    def __init__(self, Q: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("Q", Q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1)
        return torch.stack([0.5 * ((z @ self.Q) * z).sum(1), torch.zeros_like(z[:, 0])], dim=1)


class Linear(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d, 3).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def symmetric_matrix(d: int, eigenvalues: torch.Tensor, seed: int = 0) -> torch.Tensor:
    U, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return U @ torch.diag(eigenvalues) @ U.T


def point(seed: int = 1) -> torch.Tensor:
    return torch.rand(*SHAPE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("kind, params", [("gradient", {}), ("integrated_gradients", {"n_steps": 8})])
def test_matrix_free_equals_dense_svd(kind, params):
    A = attribution_map(kind, smooth_net(), 1, params)
    x = point()
    dense = dense_spectrum(A, x, with_vector=True)
    assert dense.sigma_max > 0
    power = power_iteration(A, x, max_iters=500, tol=1e-12)
    krylov = lanczos(A, x, max_iters=40, tol=1e-12)
    for estimate in (power, krylov):
        assert estimate.converged, (estimate.method, estimate.iterations, estimate.history[-3:])
        assert abs(estimate.sigma_max - dense.sigma_max) / dense.sigma_max < 1e-4
        assert estimate.sigma_max <= dense.sigma_max * (1 + 1e-10)  # approaches from below
        assert len(estimate.sigma_history) == estimate.iterations == len(estimate.history) + 1
        assert abs(abs(float((estimate.vector * dense.vector).sum())) - 1) < 1e-3  # same singular vector
    assert krylov.iterations < power.iterations
    assert sigma_max("dense", A, x).sigma_max == pytest.approx(dense.sigma_max, rel=1e-12)


def test_double_vjp_mode_agrees_with_forward():
    A = attribution_map("integrated_gradients", smooth_net(), 0, {"n_steps": 4})
    x = point(2)
    forward = power_iteration(A, x, max_iters=5, tol=0.0)
    double = power_iteration(A, x, max_iters=5, tol=0.0, jvp_mode="double_vjp")
    assert forward.sigma_history == pytest.approx(double.sigma_history, rel=1e-10)


def test_quadratic_gradient_jacobian_is_q_and_bound_attained():
    d = math.prod(SHAPE)
    eigenvalues = torch.linspace(-2.0, 3.0, d, dtype=torch.float64)
    eigenvalues[0] = -5.0  # the top |eigenvalue| is negative: σ_max is |λ|, not λ_max
    Q = symmetric_matrix(d, eigenvalues)
    A = attribution_map("gradient", Quadratic(Q).double().eval(), 0)
    x = point()
    torch.testing.assert_close(A(x).reshape(-1), Q @ x.reshape(-1), rtol=1e-12, atol=1e-12)
    J = dense_jacobian(A, x)
    torch.testing.assert_close(J, Q, rtol=1e-12, atol=1e-12)
    dense = dense_spectrum(A, x, jacobian=J)
    assert dense.sigma_max == pytest.approx(5.0, rel=1e-12)
    assert dense.column_norm_sum == pytest.approx(float(Q.norm(dim=0).sum()), rel=1e-12)
    for method in ("power", "lanczos"):
        estimate = sigma_max(method, A, x, max_iters=200, tol=1e-14)
        assert estimate.sigma_max == pytest.approx(5.0, rel=1e-10)
        for eps in (1e-3, 0.1, 1.0):  # A is linear: the first-order bound is exact and attained by v
            deviation = (A(x + eps * estimate.vector) - A(x)).norm()
            assert float(deviation) == pytest.approx(eps * estimate.sigma_max, rel=1e-9)


def test_linear_model_gradient_is_constant_and_bound_zero():
    d = math.prod(SHAPE)
    torch.manual_seed(0)
    A = attribution_map("gradient", Linear(d).eval(), 2)
    x, y = point(1), point(2)
    torch.testing.assert_close(A(x), A(y), rtol=0, atol=0)
    assert torch.count_nonzero(dense_jacobian(A, x)) == 0
    for method in SIGMA_MAX_METHODS.names():
        estimate = sigma_max(method, A, x)
        assert estimate.sigma_max == 0.0 and estimate.converged


def test_power_iteration_records_history_when_not_converged():
    A = attribution_map("gradient", smooth_net(), 1)
    estimate = power_iteration(A, point(), max_iters=3, tol=0.0)
    assert not estimate.converged and estimate.iterations == 3
    assert len(estimate.history) == 2 and all(h >= 0 for h in estimate.history)
    assert estimate.sigma_history == sorted(estimate.sigma_history)  # monotone from below
    assert estimate.vector.shape == SHAPE and float(estimate.vector.norm()) == pytest.approx(1.0)
