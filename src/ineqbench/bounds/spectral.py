"""σ_max of the attribution Jacobian J(x) = dA/dx: matrix-free (power iteration, Lanczos) and dense.

The first-order l2 bound is ε σ_max(J(x)). At CIFAR size (d = 3072) the dense Jacobian
(`torch.func.jacrev`, d vector-Jacobian products) and an SVD are affordable and serve as the
reference; at ImageNet size (d = 150,528) a dense J would take ~90 GB, so σ_max is found from
products with J and J^T only: J v by forward-mode AD (`torch.func.jvp`, forward-over-reverse through
the attribution's own gradient) and J^T u by reverse mode (`torch.func.vjp`, one forward pass reused
for every product). Both iterations work on J^T J, whose largest eigenvalue is σ_max².

Both matrix-free estimates approach σ_max from below: every Rayleigh quotient of J^T J is at most
σ_max², so an estimate is a lower bound on the quantity the bound needs, and stopping early makes the
bound smaller, not safer. The result therefore records the iterations, the relative change of the
estimate at each iteration and the relative residual ||J^T J v - s^2 v|| / s^2 of the final vector; a
safety margin, if any, belongs in the config, fixed before evaluation.

`jvp_mode`: "forward" (default) uses forward-mode AD; "double_vjp" gets J v as the vjp of the linear
map u -> J^T u, for the rare layer without a forward-AD formula, at the price of one more reverse pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.func import jacrev, jvp, vjp

from ineqbench.bounds.differentiable import AttributionMap
from ineqbench.bounds.settings import SIGMA_MAX_METHODS
from ineqbench.registry import Registry

LinearOp = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SpectralEstimate:
    """σ_max(J) at one point, with how it was obtained."""

    sigma_max: float
    iterations: int  # products with J^T J (one jvp + one vjp each); 0 for the dense reference
    converged: bool
    history: list[float] = field(default_factory=list)  # relative change of the estimate, per iteration after the first
    sigma_history: list[float] = field(default_factory=list)  # the estimate after each iteration
    residual: float = math.nan  # ||J^T J v - s^2 v|| / s^2 for the returned vector (0 for the dense SVD)
    vector: torch.Tensor | None = None  # top right singular vector, shape of x, unit l2 norm
    method: str = ""


@dataclass(frozen=True)
class DenseSpectrum:
    """The full Jacobian's spectrum and its column-norm sum (the l∞ bound's second ingredient)."""

    sigma_max: float
    singular_values: torch.Tensor  # descending
    column_norm_sum: float  # sum_j ||J[:, j]||_2 >= ||J||_{inf -> 2}
    vector: torch.Tensor | None  # top right singular vector, shape of x (None unless asked for)


def _flat(attribution: AttributionMap, x: torch.Tensor) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    shape = x.shape
    return (lambda z: attribution(z.view(shape)).reshape(-1)), x.detach().reshape(-1)


def _forward_jvp(f: Callable, x: torch.Tensor, jt: LinearOp, out: torch.Tensor) -> LinearOp:
    return lambda v: jvp(f, (x,), (v,))[1]


def _double_vjp(f: Callable, x: torch.Tensor, jt: LinearOp, out: torch.Tensor) -> LinearOp:
    # u -> J^T u is linear, so its own vjp with cotangent v is (J^T)^T v = J v, at any linearisation point.
    def jv(v: torch.Tensor) -> torch.Tensor:
        _, pullback = vjp(lambda u: vjp(f, x)[1](u)[0], torch.zeros_like(out))
        return pullback(v)[0]

    return jv


JVP_MODES: Registry[Callable[[Callable, torch.Tensor, LinearOp, torch.Tensor], LinearOp]] = Registry("jvp mode")
JVP_MODES.add("forward", _forward_jvp)
JVP_MODES.add("double_vjp", _double_vjp)


def jacobian_operators(
    attribution: AttributionMap, x: torch.Tensor, jvp_mode: str = "forward"
) -> tuple[LinearOp, LinearOp, torch.Tensor]:
    """(v -> J v, u -> J^T u, A(x) flattened) on flattened vectors of length d."""
    f, xf = _flat(attribution, x)
    out, pullback = vjp(f, xf)  # one forward pass, reused by every J^T u
    jt = lambda u: pullback(u)[0]  # noqa: E731
    return JVP_MODES.get(jvp_mode)(f, xf, jt, out), jt, out


def _start_vector(x: torch.Tensor, v0: torch.Tensor | None, seed: int) -> torch.Tensor:
    if v0 is None:
        gen = torch.Generator().manual_seed(seed)  # CPU generator: the same start on every device
        v0 = torch.randn(x.numel(), generator=gen, dtype=torch.float64)
    v = v0.reshape(-1).to(device=x.device, dtype=x.dtype)
    return v / v.norm()


def _relative_change(new: float, old: float) -> float:
    return abs(new - old) / new if new > 0 else 0.0


def power_iteration(
    attribution: AttributionMap,
    x: torch.Tensor,
    *,
    max_iters: int = 100,
    tol: float = 1e-6,
    v0: torch.Tensor | None = None,
    seed: int = 0,
    jvp_mode: str = "forward",
    **_: object,
) -> SpectralEstimate:
    """σ_max(J) by power iteration on J^T J.

    Per iteration: u = J v, w = J^T u, estimate ||w|| / ||u|| (a Rayleigh-type quotient, at most
    σ_max and at least ||J v||), then v <- w / ||w||. Stops when the relative change of the estimate
    falls below `tol` or after `max_iters`. Convergence is linear in (σ_2 / σ_1)^2, slow when the top
    singular values are close; `lanczos` converges much faster there.
    """
    with torch.no_grad():  # torch.func transforms ignore an outer no_grad; it only stops graphs to the weights
        jv, jt, _ = jacobian_operators(attribution, x, jvp_mode)
        v = _start_vector(x, v0, seed)
        sigmas: list[float] = []
        history: list[float] = []
        converged, residual = False, math.nan
        for _it in range(max_iters):
            u = jv(v)
            u_norm = u.norm()
            if u_norm == 0:  # J v = 0: with a random start this means J = 0 (e.g. a linear model's gradient)
                sigmas.append(0.0)
                converged, residual = True, 0.0
                break
            w = jt(u)
            w_norm = w.norm()
            sigma = float(w_norm / u_norm)
            rayleigh = u_norm**2
            residual = float((w - rayleigh * v).norm() / rayleigh)
            if sigmas:
                history.append(_relative_change(sigma, sigmas[-1]))
            sigmas.append(sigma)
            v = w / w_norm
            if history and history[-1] < tol:
                converged = True
                break
    return SpectralEstimate(
        sigma_max=sigmas[-1] if sigmas else math.nan,
        iterations=len(sigmas),
        converged=converged,
        history=history,
        sigma_history=sigmas,
        residual=residual,
        vector=v.view(x.shape),
        method="power",
    )


def lanczos(
    attribution: AttributionMap,
    x: torch.Tensor,
    *,
    max_iters: int = 30,
    tol: float = 1e-6,
    v0: torch.Tensor | None = None,
    seed: int = 0,
    jvp_mode: str = "forward",
    **_: object,
) -> SpectralEstimate:
    """σ_max(J) by Lanczos on J^T J with full reorthogonalisation.

    Keeps the Krylov basis (max_iters vectors of length d: 30 x 150,528 floats at ImageNet size).
    The largest Ritz value of the tridiagonal matrix is the estimate of σ_max²; it never exceeds
    σ_max². Stops when the relative residual of the top Ritz pair falls below `tol` (then some
    eigenvalue of J^T J lies within tol * s^2 of s^2), when the Krylov space becomes invariant (the
    estimate is exact), or after `max_iters`.
    """
    with torch.no_grad():
        jv, jt, _ = jacobian_operators(attribution, x, jvp_mode)
        basis = [_start_vector(x, v0, seed)]
        alphas: list[float] = []
        betas: list[float] = []
        sigmas: list[float] = []
        history: list[float] = []
        converged, residual = False, math.nan
        ritz_vector = basis[0]
        for k in range(max_iters):
            w = jt(jv(basis[k]))
            alphas.append(float(basis[k] @ w))
            V = torch.stack(basis, dim=1)
            for _twice in range(2):  # classical Gram-Schmidt twice: orthogonal to working precision
                w = w - V @ (V.T @ w)
            beta = float(w.norm())
            T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
            if k > 0:
                off = torch.tensor(betas, dtype=torch.float64)
                T = T + torch.diag(off, 1) + torch.diag(off, -1)
            evals, evecs = torch.linalg.eigh(T)
            theta, y = float(evals[-1]), evecs[:, -1]
            sigma = math.sqrt(max(theta, 0.0))
            ritz_vector = V @ y.to(V)  # y comes from the float64 CPU eigensolve
            # The Ritz pair's residual is beta * |last component of y|, without another product.
            residual = beta * abs(float(y[-1])) / theta if theta > 0 else 0.0
            if sigmas:
                history.append(_relative_change(sigma, sigmas[-1]))
            sigmas.append(sigma)
            invariant = beta <= 1e-12 * max(theta, 1e-300) or theta == 0.0
            if invariant or residual < tol:
                converged = True
                break
            betas.append(beta)
            basis.append(w / beta)
    return SpectralEstimate(
        sigma_max=sigmas[-1],
        iterations=len(sigmas),
        converged=converged,
        history=history,
        sigma_history=sigmas,
        residual=residual,
        vector=(ritz_vector / ritz_vector.norm().clamp_min(1e-300)).view(x.shape),
        method="lanczos",
    )


def dense_jacobian(attribution: AttributionMap, x: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
    """The full Jacobian dA/dx as a (d, d) matrix, row i = d A_i / dx (flattened C, H, W order).

    `chunk_size` bounds how many vjps jacrev vmaps at once (memory: each carries the attribution's
    whole backward graph, and IG's holds n_steps forward passes).
    """
    f, xf = _flat(attribution, x)
    with torch.no_grad():
        return jacrev(f, chunk_size=chunk_size)(xf)


def dense_spectrum(
    attribution: AttributionMap,
    x: torch.Tensor,
    *,
    chunk_size: int | None = None,
    with_vector: bool = False,
    jacobian: torch.Tensor | None = None,
) -> DenseSpectrum:
    """σ_max, all singular values and the column-norm sum from the dense Jacobian (the reference)."""
    J = dense_jacobian(attribution, x, chunk_size) if jacobian is None else jacobian
    if with_vector:
        _, s, vh = torch.linalg.svd(J)
        vector = vh[0].view(x.shape)
    else:
        s, vector = torch.linalg.svdvals(J), None
    return DenseSpectrum(
        sigma_max=float(s[0]), singular_values=s, column_norm_sum=float(J.norm(dim=0).sum()), vector=vector
    )


def _dense_estimate(
    attribution: AttributionMap, x: torch.Tensor, *, chunk_size: int | None = None, **_: object
) -> SpectralEstimate:
    spectrum = dense_spectrum(attribution, x, chunk_size=chunk_size, with_vector=True)
    return SpectralEstimate(
        sigma_max=spectrum.sigma_max,
        iterations=0,
        converged=True,
        residual=0.0,
        sigma_history=[spectrum.sigma_max],
        vector=spectrum.vector,
        method="dense",
    )


# One signature, (attribution, x, **options) -> SpectralEstimate; options a method does not use are ignored,
# so a config can switch methods without editing the options.
SIGMA_MAX_METHODS.add("power", power_iteration)
SIGMA_MAX_METHODS.add("lanczos", lanczos)
SIGMA_MAX_METHODS.add("dense", _dense_estimate)


def sigma_max(method: str, attribution: AttributionMap, x: torch.Tensor, **options: object) -> SpectralEstimate:
    """σ_max(dA/dx) at x by a registered method ("power", "lanczos", "dense")."""
    return SIGMA_MAX_METHODS.get(method)(attribution, x, **options)
