"""The attacks on the bounds: they stay in the ε ball and [0, 1], keep the label on the real network,
attain the exact bound of a quadratic, are deterministic under a seed, and report what they claim."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ineqbench.bounds.attack_loop import predicts
from ineqbench.bounds.attacks import BOUND_ATTACKS, run_attack, topk_intersection
from ineqbench.bounds.differentiable import attribution_map
from ineqbench.bounds.formulas import cosine_lower_bound, linf_radius
from ineqbench.bounds.surrogate import softplus_surrogate
from tests.helpers.networks import conv_net

SHAPE = (3, 8, 8)
NORMS = {"l2": 1.0, "linf": 0.1}  # ε per norm for the generic checks
RANDOM_START = {"pgd_cross_entropy", "pgd_attribution_l2distance", "pgd_attribution_cosine", "sensitivity_max"}


def tiny_net(activation: type[nn.Module] = nn.Softplus, seed: int = 0) -> nn.Module:
    return conv_net(activation, 3, seed=seed, double=True)


def point(seed: int = 1) -> torch.Tensor:
    return torch.rand(*SHAPE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def setup(kind: str = "gradient", params: dict | None = None):
    model, x = tiny_net(), point()
    target = int(model(x[None]).argmax())
    return attribution_map(kind, model, target, params), model, x, target


def distance(points: torch.Tensor, x: torch.Tensor, norm: str) -> torch.Tensor:
    d = (points - x).flatten(1)
    return d.norm(dim=1) if norm == "l2" else d.abs().amax(dim=1)


def check_consistent(result, model: nn.Module, target: int) -> None:
    """Bests are over counted iterates only, x counts with 0 / 1, label flags match the real network."""
    t = result.trace
    assert t.label_kept[0] and t.euclidean[0] == 0.0 and t.cosine[0] == 1.0
    assert result.iterations_total == len(t.euclidean) and result.iterations_counted == sum(t.label_kept)
    counted = [i for i, kept in enumerate(t.label_kept) if kept]
    assert result.best_euclidean == max(t.euclidean[i] for i in counted)
    assert result.best_cosine == min(t.cosine[i] for i in counted)
    for point_, kept in zip(t.points, t.label_kept):
        assert predicts(model, point_, target) == kept
    for best in (result.best_x, result.best_cosine_x, result.objective_x):
        assert predicts(model, best, target)


@pytest.mark.parametrize("norm", list(NORMS))
@pytest.mark.parametrize("name", BOUND_ATTACKS.names())
def test_iterates_stay_in_ball_and_pixel_range(name, norm):
    A, model, x, target = setup()
    eps = NORMS[norm]
    result = run_attack(name, A, model, x, target, norm=norm, epsilon=eps, steps=4, record_points=True)
    points = torch.stack(result.trace.points + [result.best_x, result.best_cosine_x, result.objective_x])
    assert float(distance(points, x, norm).max()) <= eps + 1e-9
    assert float(points.min()) >= 0.0 and float(points.max()) <= 1.0
    assert result.iterations_total == (4 + 1 if name == "sensitivity_max" else 4 + 1 + 1)  # x, start, steps
    assert result.best_euclidean > 0 and result.best_cosine < 1  # every attack moved the attribution
    check_consistent(result, model, target)


def test_label_constraint_on_real_network():
    """PGD-CE at a large ε flips the real ReLU network's label; the reported bests keep it.

    Gradients and attributions come from the softplus surrogate, label checks from the real network.
    """
    real = tiny_net(nn.ReLU)
    x = point()
    target = int(real(x[None]).argmax())
    smooth = softplus_surrogate(real, beta=2.0).model
    A, real_A = attribution_map("gradient", smooth, target), attribution_map("gradient", real, target)
    result = run_attack(
        "pgd_cross_entropy",
        A,
        real,
        x,
        target,
        norm="linf",
        epsilon=0.5,
        steps=8,
        step_size=0.1,
        loss_model=smooth,
        record_points=True,
        real_attribution_fn=real_A,
    )
    t = result.trace
    assert not all(t.label_kept), "premise: the attack must flip the label somewhere"
    assert max(t.euclidean) > result.best_euclidean  # the unconstrained best is a label-flipping iterate
    check_consistent(result, real, target)
    counted = [i for i, kept in enumerate(t.label_kept) if kept]
    assert result.real_best_euclidean == max(t.real_euclidean[i] for i in counted)

    # captum sees flipped samples as deviation 0, so its maximum is the counted one
    mc = run_attack(
        "sensitivity_max", A, real, x, target, norm="linf", epsilon=0.5, steps=20, seed=3, record_points=True
    )  # seed 3: a label-flipping sample has the largest deviation
    assert not all(mc.trace.label_kept) and max(mc.trace.euclidean) > mc.best_euclidean
    assert mc.extra["captum_euclidean"] == pytest.approx(mc.best_euclidean, rel=1e-9)
    check_consistent(mc, real, target)


class Quadratic(nn.Module):
    """logit_0(x) = x^T Q x / 2, logit_1 = 0 (as in test_spectral): the gradient attribution is Q x."""

    def __init__(self, Q: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("Q", Q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1)
        return torch.stack([0.5 * ((z @ self.Q) * z).sum(1), torch.zeros_like(z[:, 0])], dim=1)


def quadratic_case():
    d = math.prod(SHAPE)
    eigenvalues = torch.linspace(0.1, 2.0, d, dtype=torch.float64)
    eigenvalues[-1] = 3.0  # σ_max(Q) = 3; Q positive definite, so class 0 is predicted everywhere but 0
    U, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    Q = U @ torch.diag(eigenvalues) @ U.T
    model = Quadratic(Q).double().eval()
    x = 0.25 + 0.5 * point()  # ε = 0.2 never reaches the pixel range: the box constraint is inactive
    return Q, model, x, attribution_map("gradient", model, 0)


def test_quadratic_bound_attained_and_never_exceeded():
    Q, model, x, A = quadratic_case()
    eps, sigma = 0.2, 3.0
    result = run_attack(
        "pgd_attribution_l2distance", A, model, x, 0, norm="l2", epsilon=eps, steps=15, step_size=eps
    )  # steps of ε: close to power iteration on Q^T Q
    assert result.best_euclidean >= 0.99 * eps * sigma
    assert max(result.trace.euclidean) <= eps * sigma + 1e-9
    bounds = {"l2": eps * sigma, "linf": linf_radius(eps, sigma, Q.shape[0], float(Q.norm(dim=0).sum()))}
    norm_a = float(A(x).norm())
    for name in BOUND_ATTACKS.names():  # A is linear in δ: the first-order bounds hold for every iterate
        for norm, bound in bounds.items():
            r = run_attack(name, A, model, x, 0, norm=norm, epsilon=eps, steps=5)
            assert max(r.trace.euclidean) <= bound + 1e-9, (name, norm)
            assert min(r.trace.cosine) >= cosine_lower_bound(bound, norm_a) - 1e-12, (name, norm)


@pytest.mark.parametrize("name", BOUND_ATTACKS.names())
def test_deterministic_under_seed(name):
    A, model, x, target = setup()
    runs = [
        run_attack(name, A, model, x, target, norm="l2", epsilon=1.0, steps=2, seed=seed, record_points=True)
        for seed in (3, 3, 4)
    ]
    assert runs[0].trace.euclidean == runs[1].trace.euclidean and runs[0].trace.cosine == runs[1].trace.cosine
    assert all(torch.equal(p, q) for p, q in zip(runs[0].trace.points, runs[1].trace.points))
    assert torch.equal(runs[0].best_x, runs[1].best_x)
    assert (runs[0].trace.euclidean != runs[2].trace.euclidean) == (name in RANDOM_START)


def test_ifia_topk_reports_intersection():
    A, model, x, target = setup("integrated_gradients", {"n_steps": 4})
    k = 8
    result = run_attack("ifia_topk", A, model, x, target, norm="linf", epsilon=0.1, steps=6, k=k, record_points=True)
    inter = result.extra["topk_intersection"]
    assert result.objective_value == inter and 0.0 <= inter < 1.0  # ≤ 1 always; < 1: the attack did something
    assert inter == min(o for o, kept in zip(result.trace.objective, result.trace.label_kept) if kept)
    i = result.trace.objective.index(inter)
    assert result.extra["topk_euclidean"] == result.trace.euclidean[i] <= result.best_euclidean
    assert result.extra["topk_cosine"] == result.trace.cosine[i] >= result.best_cosine
    s0 = A(x).abs().sum(0).flatten()
    top = torch.zeros_like(s0, dtype=torch.bool)
    top[torch.topk(s0, k).indices] = True
    assert topk_intersection(A(result.objective_x), top, k) == inter
    check_consistent(result, model, target)
    with pytest.raises(ValueError, match="k must be"):
        run_attack("ifia_topk", A, model, x, target, norm="linf", epsilon=0.1, steps=1, k=65)


def test_registry_and_errors():
    assert set(BOUND_ATTACKS.names()) == {
        "pgd_cross_entropy",
        "pgd_attribution_l2distance",
        "pgd_attribution_cosine",
        "ifia_topk",
        "sensitivity_max",
    }
    A, model, x, target = setup()
    with pytest.raises(KeyError, match="Did you mean"):
        run_attack("ifia_top", A, model, x, target, norm="l2", epsilon=1.0, steps=1)
    with pytest.raises(ValueError, match="does not predict"):
        run_attack("ifia_topk", A, model, x, (target + 1) % 3, norm="l2", epsilon=1.0, steps=1)
    with pytest.raises(ValueError, match="threat norm"):
        run_attack("pgd_cross_entropy", A, model, x, target, norm="l1", epsilon=1.0, steps=1)
    zero = run_attack("pgd_attribution_l2distance", A, model, x, target, norm="linf", epsilon=0.0, steps=2)
    assert zero.best_euclidean == 0.0 and torch.equal(zero.best_x, x)
