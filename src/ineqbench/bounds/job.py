"""The bound_attribution stage: for one (model, method), bound the worst-case attribution deviation of
the first n pool images at every configured (norm, ε), attack the bounds, record both.

Per image x, with c the real network's prediction at x (the label constraint keeps c):

1. The bounded map A is the method's differentiable attribution (`bounds.differentiable`) on the
   softplus(β) surrogate when the network has ReLUs (`bounds.surrogate`), else on the network itself.
   A baseline that a method draws at random (the `ig` preset's Gaussian) is drawn once per image from
   a per-image seed, so bound and attacks speak of one map.
2. σ_max(J(x)) by the configured method, with its iterations and convergence; with `dense_jacobian`
   also the full Jacobian: its exact σ_max (then the one the bounds use, the iterative estimate being
   recorded beside it) and its column-norm sum, which enters the l∞ bound.
3. Per (norm, ε): every configured attack (`bounds.attacks`), each respecting the label constraint on
   the real network; the attacks' deviations on the real network's own attribution go to `real_*`.
4. Bounds (`bounds.formulas`), times the configured margin: first order, ε σ_max(J(x)) (l2) or
   ε min(sqrt(d) σ_max, column-norm sum) (l∞); practical, the same radius maximised over the ball by
   projected ascent on σ_max (`bounds.sup_sigma`) from x, `practical_samples` random points and the
   attacks' most deviating iterate: an estimate of the mean-value bound's sup, not a certificate.
   Cosine lower bounds from each radius. Every counted iterate of every attack is checked against both
   bounds (`iterates_checked`, `iterates_over_*`).

Output: long-format Parquet, one row per (image, norm, ε, attack), the bound columns repeated on the
attack rows of their (image, norm, ε); the column set is documented in docs/outputs.md.
The image's Gini (global and regional, |A|) is of the real network's map at x, the attribution the
inequality tables describe, so the aggregation can relate inequality and worst-case deviation.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ineqbench.attribution.methods import MethodSpec
from ineqbench.bounds.attack_loop import AttackResult
from ineqbench.bounds.attacks import random_point, run_attack
from ineqbench.bounds.differentiable import AttributionMap, attribution_map, disable_fused_attention, resolve_baseline
from ineqbench.bounds.formulas import cosine_lower_bound, euclidean_radius
from ineqbench.bounds.spectral import SpectralEstimate, dense_spectrum, sigma_max
from ineqbench.bounds.sup_sigma import AscentStep, ascend_sigma
from ineqbench.bounds.surrogate import softplus_surrogate
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.gini import global_gini, regional_gini
from ineqbench.io import write_parquet
from ineqbench.models.checkpoint import load_model
from ineqbench.models.logits import NO_CLASS, predicted_class
from ineqbench.provenance import provenance
from ineqbench.seeds import image_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundSettings:
    """What every bound job of an experiment shares: the `bounds` section with its radii parsed and the
    experiment seed (its defaults and descriptions: `ineqbench.bounds.settings.BoundsSection`)."""

    n_images: int
    epsilons: dict[str, list[float]]
    margin: float
    surrogate_beta: float
    sigma_max: dict  # method, max_iters, tol
    dense_jacobian: bool
    practical_samples: int
    practical_ascent_steps: int
    attacks: list[str]
    attack_steps: int
    ifia_k: int | None
    seed: int

    def attack_options(self, attack: str) -> dict:
        """Options only one attack takes (IFIA's k), keyed by attack name."""
        specific = {"ifia_topk": {"k": self.ifia_k}}
        return specific.get(attack, {})


@dataclass(frozen=True)
class Networks:
    """The real network (labels, the real_* columns) and the smooth one the bound describes."""

    real: nn.Module
    smooth: nn.Module
    surrogate: bool  # False: the network has no ReLU module, smooth is real
    beta: float  # nan without surrogate
    kinked_left: tuple[str, ...] = ()


def prepare_networks(model: nn.Module, beta: float) -> Networks:
    """The surrogate of `model` when it has ReLUs; fused attention off in both (double backward)."""
    model.eval()
    disable_fused_attention(model)
    surrogate = softplus_surrogate(model, beta)
    if surrogate.kinked_left:
        log.warning("kinked modules left in the surrogate (not smooth there): %s", ", ".join(surrogate.kinked_left))
    if surrogate.replaced == 0:
        return Networks(model, model, False, math.nan, surrogate.kinked_left)
    return Networks(model, surrogate.model.eval(), True, beta, surrogate.kinked_left)


@dataclass(frozen=True)
class PointSpectrum:
    """σ_max at one point; with the full Jacobian also its exact σ_max and column-norm sum."""

    estimate: SpectralEstimate
    column_norm_sum: float | None = None
    dense_sigma_max: float | None = None

    @property
    def sigma(self) -> float:
        # the dense SVD is exact, the iterative estimate approaches from below: the bound takes the SVD's
        return self.estimate.sigma_max if self.dense_sigma_max is None else self.dense_sigma_max

    def radius(self, norm: str, epsilon: float, d: int, margin: float) -> float:
        return margin * euclidean_radius(norm, epsilon, self.sigma, d, self.column_norm_sum)


def spectrum_at(
    attribution: AttributionMap, z: torch.Tensor, settings: BoundSettings, seed: int, v0: torch.Tensor | None = None
) -> PointSpectrum:
    options = {k: v for k, v in settings.sigma_max.items() if k != "method"}
    estimate = sigma_max(settings.sigma_max["method"], attribution, z, seed=seed, v0=v0, **options)
    if not estimate.converged:
        log.warning(
            "sigma_max did not converge in %d iterations (relative residual %.2g): the estimate is "
            "below the true value",
            estimate.iterations,
            estimate.residual,
        )
    if not settings.dense_jacobian:
        return PointSpectrum(estimate)
    dense = dense_spectrum(attribution, z)
    return PointSpectrum(estimate, dense.column_norm_sum, dense.sigma_max)


def practical_path(
    smooth: AttributionMap,
    x: torch.Tensor,
    starts: list[torch.Tensor],
    at_x: PointSpectrum,
    settings: BoundSettings,
    seed: int,
    *,
    norm: str,
    epsilon: float,
) -> list[AscentStep]:
    """σ_max along projected ascent from each start (`bounds.sup_sigma`); x's own spectrum is reused."""

    def spectrum(z: torch.Tensor, v0: torch.Tensor | None) -> tuple[float, torch.Tensor, PointSpectrum]:
        point = at_x if z is x else spectrum_at(smooth, z, settings, seed, v0)
        return point.sigma, point.estimate.vector, point

    return ascend_sigma(smooth, x, starts, spectrum, norm=norm, epsilon=epsilon, steps=settings.practical_ascent_steps)


def _iterates_over(result: AttackResult, bound: dict) -> dict:
    """Every counted iterate of the attack checked against both bounds (x itself, deviation 0, left out);
    the real network's deviations (surrogate models) against the same bounds, as a finding of their own."""
    trace = result.trace
    counted = [i for i, kept in enumerate(trace.label_kept) if kept and i > 0]
    row = {"iterates_checked": len(counted)}
    for name, column in (("first_order", "bound_first_order"), ("practical", "bound_practical")):
        row[f"iterates_over_{name}"] = sum(trace.euclidean[i] > bound[column] for i in counted)
        real = trace.real_euclidean
        row[f"real_iterates_over_{name}"] = sum(real[i] > bound[column] for i in counted) if real else 0
    return row


def _gini_row(a: torch.Tensor, region_size: int) -> dict[str, float]:
    maps = a.detach().abs().unsqueeze(0).cpu()
    return {
        "gini_global": float(global_gini(maps)[0][0]),
        "gini_regional": float(regional_gini(maps, region_size)[0][0]),
    }


def _attack_row(result: AttackResult, surrogate: bool) -> dict:
    # Without a surrogate the bounded map is the real network's own: its deviations are the real ones.
    real = (
        (result.real_best_euclidean, result.real_best_cosine)
        if surrogate
        else (result.best_euclidean, result.best_cosine)
    )
    return {
        "attack": result.attack,
        "deviation": result.best_euclidean,
        "cosine": result.best_cosine,
        "real_deviation": real[0],
        "real_cosine": real[1],
        "iterations_counted": result.iterations_counted,
        "iterations_total": result.iterations_total,
    }


def bound_image(
    nets: Networks,
    spec: MethodSpec,
    x: torch.Tensor,
    label: int,
    settings: BoundSettings,
    region_size: int,
    image_seed: int,
) -> list[dict]:
    """The rows of one image: per (norm, ε) and attack, the bounds and the attack's best deviations."""
    with torch.no_grad():
        prediction = int(predicted_class(nets.real(x.unsqueeze(0)))[0])
    # non-finite logits predict no class: attribute the label instead (the row is flagged non-finite)
    target = int(label) if prediction == NO_CLASS else prediction
    torch.manual_seed(image_seed)  # anything random below that takes no seed of its own
    baseline = resolve_baseline(nets.real, x, spec.params, image_seed)  # a random baseline: drawn once, here
    smooth = attribution_map(spec.kind, nets.smooth, target, spec.params, baseline)
    real = attribution_map(spec.kind, nets.real, target, spec.params, baseline) if nets.surrogate else None
    with torch.no_grad():
        a0 = smooth(x).detach()
        real_a0 = a0 if real is None else real(x).detach()
    d = x.numel()
    at_x = spectrum_at(smooth, x, settings, image_seed)
    image = {
        "label": int(label),
        "prediction": prediction,
        "correct": prediction == int(label),
        **_gini_row(real_a0, region_size),
        "attribution_norm": float(a0.norm()),
        "dimension": d,
        "sigma_max": at_x.estimate.sigma_max,
        "sigma_iterations": at_x.estimate.iterations,
        "sigma_converged": at_x.estimate.converged,
        "sigma_residual": at_x.estimate.residual,
        "sigma_method": at_x.estimate.method,
        "column_norm_sum": math.nan if at_x.column_norm_sum is None else at_x.column_norm_sum,
        "sigma_max_dense": math.nan if at_x.dense_sigma_max is None else at_x.dense_sigma_max,
        "surrogate": nets.surrogate,
        "surrogate_beta": nets.beta,
    }
    rows = []
    for norm, epsilons in settings.epsilons.items():
        for epsilon in epsilons:
            results = [
                run_attack(
                    name,
                    smooth,
                    nets.real,
                    x,
                    target,
                    norm=norm,
                    epsilon=epsilon,
                    steps=settings.attack_steps,
                    seed=image_seed + i,
                    real_attribution_fn=real,
                    **settings.attack_options(name),
                )
                for i, name in enumerate(settings.attacks)
            ]
            strongest = max(results, key=lambda r: r.best_euclidean)
            starts = [x] + [
                random_point(x, norm, epsilon, image_seed + 1000 + k) for k in range(settings.practical_samples)
            ]
            if strongest.best_euclidean > 0:
                starts.append(strongest.best_x)
            path = practical_path(smooth, x, starts, at_x, settings, image_seed, norm=norm, epsilon=epsilon)
            first = at_x.radius(norm, epsilon, d, settings.margin)
            top = max(path, key=lambda step: step.spectrum.radius(norm, epsilon, d, settings.margin))
            practical = top.spectrum.radius(norm, epsilon, d, settings.margin)
            bound = {
                "norm": norm,
                "epsilon": float(epsilon),
                "bound_first_order": first,
                "bound_practical": practical,
                "sigma_max_practical": top.spectrum.sigma,
                "practical_points": len(path),
                "practical_from": "x"
                if top.start == 0
                else "sample"
                if top.start <= settings.practical_samples
                else "attack",
                "practical_step": top.step,
                "cosine_bound_first_order": cosine_lower_bound(first, image["attribution_norm"]),
                "cosine_bound_practical": cosine_lower_bound(practical, image["attribution_norm"]),
            }
            rows += [{**image, **bound, **_attack_row(r, nets.surrogate), **_iterates_over(r, bound)} for r in results]
    return rows


def bound_images(
    nets: Networks,
    spec: MethodSpec,
    images: np.ndarray,
    labels: np.ndarray,
    pool_index: np.ndarray,
    settings: BoundSettings,
    region_size: int,
    device: torch.device,
) -> pd.DataFrame:
    """Rows of every image (uint8 (N, C, H, W)), in pool order."""
    rows = []
    for i, (image, label, p) in enumerate(zip(images, labels, pool_index)):
        start = time.perf_counter()
        x = torch.from_numpy(image).float().div_(255.0).to(device)
        image_rows = bound_image(nets, spec, x, int(label), settings, region_size, image_seed(settings.seed, int(p)))
        rows += [{"pool_index": int(p), **r} for r in image_rows]
        log.info(
            "image %d/%d (pool %d): sigma_max %.4g, %.1f s",
            i + 1,
            len(labels),
            p,
            image_rows[0]["sigma_max"] if image_rows else math.nan,
            time.perf_counter() - start,
        )
    return pd.DataFrame(rows)


def bound_attribution(
    *,
    weights_path: str,
    card_path: str,
    test_path: str,
    pool_path: str,
    method: dict,
    settings: dict,
    region_size: int,
    out_path: str,
    threads: int = 1,
) -> None:
    bounds = BoundSettings(**settings)
    spec = MethodSpec(method["id"], method["kind"], method["params"])
    device = select_device(threads)
    nets = prepare_networks(load_model(weights_path, card_path, device), bounds.surrogate_beta)
    log.info(
        "bounding %s attributions; surrogate: %s",
        spec.id,
        f"softplus beta {nets.beta}" if nets.surrogate else "none (no ReLU module)",
    )
    pool, split = load_pool_images(test_path, pool_path)
    n = min(bounds.n_images, len(pool))
    frame = bound_images(
        nets, spec, split.images[:n], split.labels[:n], pool["pool_index"].to_numpy()[:n], bounds, region_size, device
    )
    meta = {
        "bounds": asdict(bounds),
        "method": spec.as_dict(),
        "region_size": region_size,
        "surrogate_beta": nets.beta,
        "kinked_left": list(nets.kinked_left),
    }
    write_parquet(out_path, frame, provenance(meta, seed=bounds.seed, inputs=[weights_path, pool_path]))
