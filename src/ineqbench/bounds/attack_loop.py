"""The machinery shared by the attacks on the bounds: the label-constrained record of iterates, seeded
sampling in a ball, and one projected-gradient loop.

The label constraint. The bounded quantity is max D(A(x), A(x + δ)) over ||δ||_p <= ε with the
*real* network's prediction unchanged (docs: the attribution-bounds formulation). An iterate therefore
counts only if the real network still predicts the original class c, whatever model (surrogate or
not) gave the attack its gradients; the best deviation is taken over counted iterates only, and the
starting point x itself always counts, with deviation 0 and cosine 1. Iterates that flip the label
are still recorded (with `label_kept` False), so a caller can see what the constraint removed.

Geometry. Steps and projections are the suite's PGD ones (`ineqbench.threats.THREAT_NORMS`:
normalised-gradient steps and radial projection for l2, sign steps and clamping for l∞), followed
by a clamp to the valid pixel range [0, 1]. The clamp never leaves the ball: x is in [0, 1], so
clamping moves every coordinate of x + δ towards x. Random points in the ball come from a CPU
generator seeded by the caller, so a seed gives the same attack on every device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import grad_and_value

from ineqbench.bounds.differentiable import AttributionMap
from ineqbench.models.logits import predicted_class
from ineqbench.threats import THREAT_NORMS


@dataclass(frozen=True)
class AttackTrace:
    """Per iterate, in order (index 0 is x itself): deviations, label check, the attack's own score."""

    euclidean: list[float]
    cosine: list[float]
    label_kept: list[bool]
    objective: list[float]
    real_euclidean: list[float] = field(default_factory=list)  # on `real_attribution_fn`, when given
    points: list[torch.Tensor] | None = None  # only with record_points=True (memory: one image per step)


@dataclass(frozen=True)
class AttackResult:
    """The outcome of one attack on one image, ε and norm. Bests are over counted iterates only."""

    attack: str
    norm: str
    epsilon: float
    best_x: torch.Tensor  # counted iterate of largest ||A(x') - A(x)||_2 (x itself if none moved A)
    best_euclidean: float
    best_cosine_x: torch.Tensor  # counted iterate of smallest cos(A(x'), A(x))
    best_cosine: float
    objective_x: torch.Tensor  # counted iterate best by the attack's own objective (e.g. IFIA: intersection)
    objective_value: float
    iterations_counted: int  # counted iterates, x included
    iterations_total: int  # recorded iterates, x included
    real_best_euclidean: float = math.nan  # same bests measured with `real_attribution_fn` (nan: not given)
    real_best_cosine: float = math.nan
    extra: dict[str, float] = field(default_factory=dict)
    trace: AttackTrace | None = None  # per-iterate scalars (and points, if recorded)


def predicts(model: nn.Module, z: torch.Tensor, target: int) -> bool:
    """Whether `model` predicts `target` for one image z (C, H, W)."""
    with torch.no_grad():
        return int(predicted_class(model(z.unsqueeze(0)))[0]) == int(target)  # non-finite: no class


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """cos between two attribution maps, flattened (0 when either is the zero map, as torch's eps gives)."""
    return torch.nn.functional.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1), eps=1e-12)[0]


def uniform_in_ball(
    shape: tuple[int, ...], norm: str, epsilon: float, generator: torch.Generator, dtype: torch.dtype
) -> torch.Tensor:
    """Perturbations (N, *shape) drawn uniformly in the ε ball, on the CPU from `generator`.

    l∞: uniform in the cube, as captum's default sensitivity perturbation. l2: uniform in the ball
    (Gaussian direction, radius ε U^(1/d)), which puts most samples near the sphere, where the
    deviation of a smooth map is largest.
    """
    n, d = shape[0], math.prod(shape[1:])
    if norm == "linf":
        return (2 * torch.rand(shape, generator=generator, dtype=dtype) - 1) * epsilon
    if norm == "l2":
        direction = torch.randn(shape, generator=generator, dtype=dtype).reshape(n, -1)
        radius = epsilon * torch.rand(n, 1, generator=generator, dtype=dtype) ** (1.0 / d)
        return (direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-300) * radius).reshape(shape)
    raise ValueError(THREAT_NORMS.unknown_message(norm))


class Tracker:
    """Records every iterate of an attack and keeps the label-constrained bests."""

    def __init__(
        self,
        attribution_fn: AttributionMap,
        real_model: nn.Module,
        x: torch.Tensor,
        target: int,
        *,
        start_objective: float,
        maximise_objective: bool = True,
        record_points: bool = False,
        real_attribution_fn: AttributionMap | None = None,
    ) -> None:
        if not predicts(real_model, x, target):
            raise ValueError(
                f"the real network does not predict class {target} at x: the label constraint "
                "keeps the predicted class, so attack the predicted class"
            )
        self.attribution_fn, self.real_model, self.x, self.target = attribution_fn, real_model, x.detach(), int(target)
        self.sign = 1.0 if maximise_objective else -1.0
        self.real_attribution_fn = real_attribution_fn
        with torch.no_grad():
            self.a0 = attribution_fn(self.x).detach()
            self.real_a0 = None if real_attribution_fn is None else real_attribution_fn(self.x).detach()
        self.trace = AttackTrace([], [], [], [], [], [] if record_points else None)
        # key -> (score to maximise, iterate, its index in the trace)
        self.best = {key: (-math.inf, self.x, 0) for key in ("euclidean", "cosine", "objective")}
        self.real_best = (0.0, 1.0)
        self.observe(self.x, self.a0, start_objective, is_start=True)  # x counts, with deviation 0

    def observe(
        self, z: torch.Tensor, a: torch.Tensor | None = None, objective: float = math.nan, *, is_start: bool = False
    ) -> bool:
        """Record iterate z (with A(z) if already computed); returns whether it counts (label kept)."""
        z = z.detach()
        if a is None or a.numel() == 0:  # the objective did not compute A(z) on the way
            with torch.no_grad():
                a = self.attribution_fn(z)
        a = a.detach()
        kept = True if is_start else predicts(self.real_model, z, self.target)
        euclid = 0.0 if is_start else float((a - self.a0).norm())
        cos = 1.0 if is_start else float(cosine(a, self.a0))
        t = self.trace
        t.euclidean.append(euclid)
        t.cosine.append(cos)
        t.label_kept.append(kept)
        t.objective.append(objective)
        if t.points is not None:
            t.points.append(z.clone())
        if self.real_attribution_fn is not None:
            with torch.no_grad():
                real_a = self.real_attribution_fn(z).detach()
            real_e = 0.0 if is_start else float((real_a - self.real_a0).norm())
            t.real_euclidean.append(real_e)
            if kept:
                real_c = 1.0 if is_start else float(cosine(real_a, self.real_a0))
                self.real_best = (max(self.real_best[0], real_e), min(self.real_best[1], real_c))
        if kept:  # every best is stored as a score to maximise
            for key, value in (("euclidean", euclid), ("cosine", -cos), ("objective", self.sign * objective)):
                if value > self.best[key][0]:  # nan compares False: an unscored point is never best
                    self.best[key] = (value, z, len(t.euclidean) - 1)
        return kept

    def result(self, attack: str, norm: str, epsilon: float, *, extra: dict[str, float] | None = None) -> AttackResult:
        """The bests so far as an AttackResult (objective converted back to the attack's own sense)."""
        t = self.trace
        objective_value, objective_x, _ = self.best["objective"]
        return AttackResult(
            attack=attack,
            norm=norm,
            epsilon=float(epsilon),
            best_x=self.best["euclidean"][1],
            best_euclidean=max(self.best["euclidean"][0], 0.0),
            best_cosine_x=self.best["cosine"][1],
            best_cosine=min(-self.best["cosine"][0], 1.0),
            objective_x=objective_x,
            objective_value=self.sign * objective_value,
            iterations_counted=sum(t.label_kept),
            iterations_total=len(t.label_kept),
            real_best_euclidean=math.nan if self.real_attribution_fn is None else self.real_best[0],
            real_best_cosine=math.nan if self.real_attribution_fn is None else self.real_best[1],
            extra=dict(extra or {}),
            trace=t,
        )


def projected_ascent(
    tracker: Tracker,
    start: torch.Tensor,
    loss_and_aux: Callable[[torch.Tensor], tuple],
    score: Callable[[torch.Tensor, torch.Tensor], float],
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float,
) -> None:
    """`steps` projected steps up the gradient of loss_and_aux(z)[0] from `start`; every point observed.

    loss_and_aux(z) returns (scalar loss to ascend, aux): aux is A(z) when the loss computed it on the
    way (saving the tracker a second evaluation), else an empty tensor (torch.func wants tensors).
    score(loss, aux) is what the tracker records as the attack's objective for that point. Descent is
    ascent of the negated loss.
    """
    threat = THREAT_NORMS.get(norm)
    x, z = tracker.x, start.detach()
    for t in range(steps + 1):
        if t < steps:
            g, (loss, aux) = grad_and_value(loss_and_aux, has_aux=True)(z)
        else:  # the last iterate is only evaluated
            with torch.no_grad():
                loss, aux = loss_and_aux(z)
        tracker.observe(z, aux, score(loss.detach(), aux.detach()))
        if t < steps:
            delta = (z - x).unsqueeze(0) + step_size * threat.ascent_direction(g.unsqueeze(0))
            z = (x + threat.project(delta, epsilon)[0]).clamp(0, 1).detach()
