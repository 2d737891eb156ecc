"""Attacks that try to beat the attribution-deviation bounds: PGD (cross-entropy, attribution distance,
cosine), IFIA top-k (Ghorbani et al., AAAI 2019) and captum's sensitivity_max as the Monte-Carlo baseline.

Every attack has one signature,

    attack(attribution_fn, real_model, x, target, *, norm, epsilon, steps, step_size=None, seed=0,
           random_start=..., record_points=False, real_attribution_fn=None, **specific) -> AttackResult

with `attribution_fn` the differentiable map x (C, H, W) -> A(x) of `bounds.differentiable`
(usually built on the softplus surrogate, so second-order gradients exist) and `real_model` the
network whose prediction must stay `target` (the label constraint, `bounds.attack_loop`). The
deviations reported are those of `attribution_fn`, the map the bound speaks of; `real_attribution_fn`
(e.g. the same attribution on the real ReLU network) is measured on the same iterates and reported
in the separate `real_best_*` fields. `step_size` defaults to 2.5 ε / steps (Madry et al.).

Why random starts. At δ = 0 the gradient of ||A(x + δ) - A(x)||² and of cos(A(x + δ), A(x)) vanishes
(both are extremal there), so the direct attribution attacks start at a seeded random point of the
ball; IFIA's top-k mass has a non-zero gradient at x and starts there, as the original does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ineqbench.bounds.attack_loop import (
    AttackResult,
    Tracker,
    cosine,
    projected_ascent,
    uniform_in_ball,
)
from ineqbench.bounds.differentiable import AttributionMap
from ineqbench.bounds.settings import BOUND_ATTACKS


@dataclass(frozen=True)
class BoundAttack:
    """A registered attack: the function and what it optimises (recorded with its results)."""

    run: Callable[..., AttackResult]
    objective: str
    description: str


def _check(norm: str, epsilon: float, steps: int) -> None:
    if norm not in ("l2", "linf"):
        raise ValueError(f"unknown threat norm {norm!r}; valid: l2, linf")
    if epsilon < 0 or steps < 0:
        raise ValueError(f"epsilon and steps must be non-negative, got {epsilon}, {steps}")


def _step(epsilon: float, steps: int, step_size: float | None) -> float:
    return 2.5 * epsilon / max(steps, 1) if step_size is None else float(step_size)


def random_point(x: torch.Tensor, norm: str, epsilon: float, seed: int) -> torch.Tensor:
    """x plus a perturbation uniform in the ε ball (CPU generator seeded by `seed`), clamped to [0, 1]."""
    delta = uniform_in_ball((1, *x.shape), norm, epsilon, torch.Generator().manual_seed(seed), x.dtype)[0]
    return (x + delta.to(x.device)).clamp(0, 1)


def _pgd(
    tracker: Tracker, x: torch.Tensor, loss_and_aux, score, *, norm, epsilon, steps, step_size, seed, random_start
) -> None:
    start = random_point(x, norm, epsilon, seed) if random_start and epsilon > 0 else x
    projected_ascent(
        tracker,
        start,
        loss_and_aux,
        score,
        norm=norm,
        epsilon=epsilon,
        steps=steps,
        step_size=_step(epsilon, steps, step_size),
    )


def pgd_cross_entropy(
    attribution_fn: AttributionMap,
    real_model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    seed: int = 0,
    random_start: bool = True,
    record_points: bool = False,
    real_attribution_fn: AttributionMap | None = None,
    loss_model: nn.Module | None = None,
) -> AttackResult:
    """Classic PGD up the cross-entropy of `loss_model` (default: the real network); the attribution
    deviation of every label-keeping iterate is recorded, the best of them reported."""
    _check(norm, epsilon, steps)
    model = real_model if loss_model is None else loss_model
    label = torch.tensor([int(target)], device=x.device)

    def loss_and_aux(z: torch.Tensor):
        return F.cross_entropy(model(z.unsqueeze(0)), label), z.new_empty(0)

    with torch.no_grad():
        start_loss = float(loss_and_aux(x)[0])
    tracker = Tracker(
        attribution_fn,
        real_model,
        x,
        target,
        start_objective=start_loss,
        record_points=record_points,
        real_attribution_fn=real_attribution_fn,
    )
    _pgd(
        tracker,
        x,
        loss_and_aux,
        lambda loss, aux: float(loss),
        norm=norm,
        epsilon=epsilon,
        steps=steps,
        step_size=step_size,
        seed=seed,
        random_start=random_start,
    )
    return tracker.result("pgd_cross_entropy", norm, epsilon)


def pgd_attribution_l2distance(
    attribution_fn: AttributionMap,
    real_model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    seed: int = 0,
    random_start: bool = True,
    record_points: bool = False,
    real_attribution_fn: AttributionMap | None = None,
) -> AttackResult:
    """PGD that maximises ||A(x') - A(x)||_2 directly (gradients through the attribution: second order)."""
    _check(norm, epsilon, steps)
    tracker = Tracker(
        attribution_fn,
        real_model,
        x,
        target,
        start_objective=0.0,
        record_points=record_points,
        real_attribution_fn=real_attribution_fn,
    )

    def loss_and_aux(z: torch.Tensor):
        a = attribution_fn(z)
        return 0.5 * ((a - tracker.a0) ** 2).sum(), a  # the squared norm: same direction, smooth at 0

    _pgd(
        tracker,
        x,
        loss_and_aux,
        lambda loss, a: float((a - tracker.a0).norm()),
        norm=norm,
        epsilon=epsilon,
        steps=steps,
        step_size=step_size,
        seed=seed,
        random_start=random_start,
    )
    return tracker.result("pgd_attribution_l2distance", norm, epsilon)


def pgd_attribution_cosine(
    attribution_fn: AttributionMap,
    real_model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    seed: int = 0,
    random_start: bool = True,
    record_points: bool = False,
    real_attribution_fn: AttributionMap | None = None,
) -> AttackResult:
    """PGD that minimises cos(A(x'), A(x)) directly; the objective recorded is that cosine."""
    _check(norm, epsilon, steps)
    tracker = Tracker(
        attribution_fn,
        real_model,
        x,
        target,
        start_objective=1.0,
        maximise_objective=False,
        record_points=record_points,
        real_attribution_fn=real_attribution_fn,
    )

    def loss_and_aux(z: torch.Tensor):
        a = attribution_fn(z)
        return -cosine(a, tracker.a0), a

    _pgd(
        tracker,
        x,
        loss_and_aux,
        lambda loss, a: -float(loss),
        norm=norm,
        epsilon=epsilon,
        steps=steps,
        step_size=step_size,
        seed=seed,
        random_start=random_start,
    )
    return tracker.result("pgd_attribution_cosine", norm, epsilon)


def saliency(a: torch.Tensor) -> torch.Tensor:
    """IFIA's saliency of an attribution (C, H, W): |A| summed over channels, flattened to (H W,)."""
    return a.abs().sum(0).flatten() if a.dim() == 3 else a.abs().flatten()


def topk_intersection(a: torch.Tensor, original_top: torch.Tensor, k: int) -> float:
    """|top-k(saliency(a)) ∩ original top-k| / k, in [0, 1] (1: the same k pixels)."""
    return float(original_top[torch.topk(saliency(a), k).indices].sum()) / k


def ifia_topk(
    attribution_fn: AttributionMap,
    real_model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    seed: int = 0,
    random_start: bool = False,
    record_points: bool = False,
    real_attribution_fn: AttributionMap | None = None,
    k: int | None = None,
    normalise: bool = True,
) -> AttackResult:
    """IFIA top-k attack (Ghorbani et al. 2019): push saliency off the original top-k pixels.

    K is the set of the k most salient pixels of x (default k: 10% of the pixels). Each step moves
    against the gradient of the saliency mass on K, x_{t+1} = clip_{x, ε}(x_t - α sign(∇)) under l∞
    (the normalised gradient under l2), clipped to [0, 1]. With `normalise` the mass is the fraction
    Σ_K s_i / Σ_i s_i, as in the authors' code (which rescales every saliency map to a fixed total),
    so the attack cannot win by shrinking the whole map without moving its top-k; `normalise=False`
    descends the raw Σ_K s_i. The objective is the top-k intersection, lowest over counted iterates;
    `extra` gives it with the Euclidean deviation and cosine of that iterate.
    """
    _check(norm, epsilon, steps)
    with torch.no_grad():
        s0 = saliency(attribution_fn(x.detach()))
    k = max(1, round(0.1 * s0.numel())) if k is None else int(k)
    if not 1 <= k <= s0.numel():
        raise ValueError(f"k must be in [1, {s0.numel()}], got {k}")
    top = torch.zeros_like(s0, dtype=torch.bool)
    top[torch.topk(s0, k).indices] = True
    tracker = Tracker(
        attribution_fn,
        real_model,
        x,
        target,
        start_objective=1.0,
        maximise_objective=False,
        record_points=record_points,
        real_attribution_fn=real_attribution_fn,
    )

    def loss_and_aux(z: torch.Tensor):
        a = attribution_fn(z)
        s = saliency(a)
        mass = s[top].sum() / s.sum().clamp_min(1e-300) if normalise else s[top].sum()
        return -mass, a

    _pgd(
        tracker,
        x,
        loss_and_aux,
        lambda loss, a: topk_intersection(a, top, k),
        norm=norm,
        epsilon=epsilon,
        steps=steps,
        step_size=step_size,
        seed=seed,
        random_start=random_start,
    )
    index = tracker.best["objective"][2]
    extra = {
        "k": float(k),
        "topk_intersection": tracker.trace.objective[index],
        "topk_euclidean": tracker.trace.euclidean[index],
        "topk_cosine": tracker.trace.cosine[index],
    }
    return tracker.result("ifia_topk", norm, epsilon, extra=extra)


def sensitivity_max(
    attribution_fn: AttributionMap,
    real_model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    seed: int = 0,
    random_start: bool = True,
    record_points: bool = False,
    real_attribution_fn: AttributionMap | None = None,
    max_examples_per_batch: int | None = None,
) -> AttackResult:
    """captum.metrics.sensitivity_max with `steps` uniform samples of the ε ball: a Monte-Carlo *lower*
    estimate of the worst-case deviation (no optimisation), the statistical baseline users know.

    captum draws its own l∞ noise from the global RNG and never clips; here captum gets a
    `perturb_func` that samples uniformly in the l∞ cube or the l2 ball from a seeded generator and
    clamps to [0, 1]. captum cannot see the label constraint, so a sample whose label flips is shown
    to captum with the attribution of x (deviation 0) and recorded as not counted. captum returns the
    deviation relative to ||A(x)||; `best_euclidean` is the absolute one (captum's value is kept in
    `extra`, and agrees). `step_size` and `random_start` mean nothing here and are ignored.
    """
    from captum.metrics import sensitivity_max as captum_sensitivity_max

    _check(norm, epsilon, steps)
    tracker = Tracker(
        attribution_fn,
        real_model,
        x,
        target,
        start_objective=0.0,
        record_points=record_points,
        real_attribution_fn=real_attribution_fn,
    )
    generator = torch.Generator().manual_seed(seed)

    def perturb(inputs: torch.Tensor, radius: float) -> torch.Tensor:
        delta = uniform_in_ball(tuple(inputs.shape), norm, radius, generator, inputs.dtype)
        return (inputs + delta.to(inputs.device)).clamp(0, 1)

    def explain(inputs: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if isinstance(inputs, tuple):  # captum's first call: the unperturbed x (recorded), answered in kind
            return (tracker.a0.unsqueeze(0),)
        rows = []
        for z in inputs:
            a = attribution_fn(z)
            kept = tracker.observe(z, a, float((a - tracker.a0).norm()))
            rows.append(a if kept else tracker.a0)
        return torch.stack(rows)

    relative = (
        float(
            captum_sensitivity_max(
                explain,
                x.detach().unsqueeze(0),
                perturb_func=perturb,
                perturb_radius=float(epsilon),
                n_perturb_samples=max(steps, 1),
                max_examples_per_batch=max_examples_per_batch,
            )[0]
        )
        if steps
        else 0.0
    )
    a0_norm = float(tracker.a0.norm())
    extra = {"captum_sensitivity_max": relative, "captum_euclidean": relative * (a0_norm if a0_norm > 0 else 1.0)}
    return tracker.result("sensitivity_max", norm, epsilon, extra=extra)


BOUND_ATTACKS.add(
    "pgd_cross_entropy",
    BoundAttack(
        pgd_cross_entropy, "cross_entropy", "PGD on the cross-entropy; attribution deviation of label-keeping iterates"
    ),
)
BOUND_ATTACKS.add(
    "pgd_attribution_l2distance",
    BoundAttack(pgd_attribution_l2distance, "euclidean", "PGD maximising ||A(x') - A(x)||_2 through the attribution"),
)
BOUND_ATTACKS.add(
    "pgd_attribution_cosine",
    BoundAttack(pgd_attribution_cosine, "cosine", "PGD minimising cos(A(x'), A(x)) through the attribution"),
)
BOUND_ATTACKS.add(
    "ifia_topk",
    BoundAttack(ifia_topk, "topk_intersection", "IFIA top-k attack (Ghorbani et al. 2019), lowest top-k intersection"),
)
BOUND_ATTACKS.add(
    "sensitivity_max",
    BoundAttack(
        sensitivity_max, "euclidean", "captum sensitivity_max: Monte-Carlo lower estimate, uniform in the ball"
    ),
)


def run_attack(
    name: str, attribution_fn: AttributionMap, real_model: nn.Module, x: torch.Tensor, target: int, **options: object
) -> AttackResult:
    """Run the registered attack `name` with the common signature's keyword options."""
    return BOUND_ATTACKS.get(name).run(attribution_fn, real_model, x, target, **options)
