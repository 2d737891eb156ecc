"""Attribution methods: the code behind each kind, written on the pass engine
(`ineqbench.attribution.passes`), with every random draw made per image (`ineqbench.attribution.draws`).
The kinds, their parameters and the method ids are declared without torch in
`ineqbench.attribution.settings`. captum is the reference they are tested against
(tests/unit/attribution/test_methods.py): the same definitions, without captum's per-call overhead
and batch-wide random draws.

Units. Every model takes [0, 1] pixels. Constants the paper gives in normalised units (N(0, 1)
baselines, the released code's noise σ = 0.2) are applied in the model's normalised space
z = (x - mean) / std, i.e. σ_pixel = σ_norm * std_c per channel. Integrated Gradients, GradientShap
and NoiseTunnel over them are invariant under that per-channel affine change of coordinates
(the (x - x0) factor scales by 1/std, the gradient by std), so attributing in pixel space with the
noise drawn in normalised units is exactly the normalised-space attribution. InputXGradient is not
invariant (x * grad): it is computed in pixel space.
"""

from __future__ import annotations

import torch

from ineqbench.attribution.draws import ImageDraws
from ineqbench.attribution.passes import PassRunner, logits_at, unit_sums
from ineqbench.attribution.quadrature import quadrature
from ineqbench.attribution.settings import BASELINES, METHOD_KINDS, METHOD_PRESETS, MethodSpec, resolve_methods

__all__ = ["BASELINES", "METHOD_KINDS", "METHOD_PRESETS", "ImageDraws", "MethodSpec", "resolve_methods"]


def _per_image(model, x: torch.Tensor, sigma_normalised: float, draws: ImageDraws, i: int, n: int) -> torch.Tensor:
    """n draws of N(0, sigma^2) in normalised units for image i, in pixel units: (n, C, H, W)."""
    return draws.normal(i, (n, *x.shape[1:]), x.dtype) * (sigma_normalised * model.std)


# Baselines in pixel space, one per image. zero: black; mean: the normalisation mean (zero in normalised
# space, the released code's choice); gaussian: mean + std * sigma * N(0, 1), i.e. N(0, sigma^2) in
# normalised units, drawn per image.
BASELINES.add("zero", lambda model, x, params, draws: torch.zeros_like(x))
BASELINES.add("mean", lambda model, x, params, draws: model.mean.expand_as(x).clone())
BASELINES.add(
    "gaussian",
    lambda model, x, params, draws: (
        model.mean
        + torch.cat([_per_image(model, x, params["baseline_sigma_normalised"], draws, i, 1) for i in range(len(x))])
    ),
)


def _baseline(model, x: torch.Tensor, params: dict, draws: ImageDraws) -> torch.Tensor:
    return BASELINES.get(params["baseline"])(model, x, params, draws)


def _rule(params: dict, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    alphas, steps = quadrature(params["method"], params["n_steps"])
    shape = (-1, *[1] * (like.dim() - 1))
    as_tensor = lambda a: torch.as_tensor(a, dtype=like.dtype, device=like.device).view(shape)  # noqa: E731
    return as_tensor(alphas), as_tensor(steps)


def _ig_unit(x_i: torch.Tensor, b_i: torch.Tensor, alphas: torch.Tensor, steps: torch.Tensor):
    """IG of one input as one unit: points on the straight path, weights step_k * (x - b)."""
    diff = (x_i - b_i).unsqueeze(0)
    return b_i.unsqueeze(0) + alphas * diff, steps * diff


def integrated_gradients(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    baseline = _baseline(model, x, params, draws)
    alphas, steps = _rule(params, x)
    attr = unit_sums(runner, len(x), lambda i: _ig_unit(x[i], baseline[i], alphas, steps), target)
    # captum's convergence delta: sum of the map minus the logit gap it should add up to
    gap = logits_at(runner, torch.cat([x, baseline]), target.repeat(2)).view(2, -1)
    return attr, attr.flatten(1).sum(1) - (gap[0] - gap[1])


def input_x_gradient(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    return unit_sums(runner, len(x), lambda i: (x[i : i + 1], x[i : i + 1]), target), None


def gradient(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    ones = torch.ones_like(x[:1])
    return unit_sums(runner, len(x), lambda i: (x[i : i + 1], ones), target), None


def smoothgrad(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    # The signed plain gradient averaged over noisy copies (Smilkov et al.); sigma in pixel units.
    n = params["nt_samples"]
    weight = torch.full((1, *[1] * (x.dim() - 1)), 1 / n, dtype=x.dtype, device=x.device)

    def unit(i: int):
        return x[i] + params["sigma"] * draws.normal(i, (n, *x.shape[1:]), x.dtype), weight

    return unit_sums(runner, len(x), unit, target), None


def smoothgrad_sq_ig(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    # The released code's NoiseTunnel(IG, smoothgrad_sq): the mean over noisy copies of IG squared,
    # noise N(0, sigma_normalised^2) in normalised units. One unit per (image, noisy copy).
    n = params["nt_samples"]
    baseline = _baseline(model, x, params, draws)
    alphas, steps = _rule(params, x)

    def unit(u: int):
        i = u // n
        noisy = x[i] + _per_image(model, x, params["sigma_normalised"], draws, i, 1)[0]
        return _ig_unit(noisy, baseline[i], alphas, steps)

    maps = unit_sums(runner, len(x) * n, unit, target.repeat_interleave(n))
    return maps.view(len(x), n, *x.shape[1:]).square().mean(1), None


def gradient_shap(model, x, target, params, runner: PassRunner, draws: ImageDraws):
    # Expected gradients (captum GradientShap): per sample, a baseline drawn from the image's set, noise
    # N(0, stdevs^2) in normalised units on the input, a position alpha ~ U(0, 1) on the path between them;
    # the map is the mean of grad f(b + alpha (x' - b)) * (x' - b).
    n, sigma = params["n_samples"], params["stdevs_normalised"]
    if params["baseline"] == "zero_and_input":  # the released code's {0, x}, per image
        choices = torch.stack([torch.zeros_like(x), x], 1)
    else:
        choices = _baseline(model, x, params, draws).unsqueeze(1)
    expand = (-1, *[1] * (x.dim() - 1))

    def unit(i: int):
        picked = choices[i][draws.integers(i, choices.shape[1], (n,))]
        noisy = x[i].unsqueeze(0) + (_per_image(model, x, sigma, draws, i, n) if sigma else 0)
        alpha = draws.uniform(i, (n,), x.dtype).view(expand)
        diff = noisy - picked
        return picked + alpha * diff, diff / n

    return unit_sums(runner, len(x), unit, target), None
