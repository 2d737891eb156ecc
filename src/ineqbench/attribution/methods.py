"""Attribution methods: the captum wrappers behind each kind. The kinds, their parameters and the
method ids are declared without torch in `ineqbench.attribution.settings`.

Units. Every model takes [0, 1] pixels. Constants the paper gives in normalised units (N(0, 1)
baselines, the released code's noise σ = 0.2) are applied in the model's normalised space
z = (x - mean) / std, i.e. σ_pixel = σ_norm * std_c per channel. Integrated Gradients, GradientShap
and NoiseTunnel over them are invariant under that per-channel affine change of coordinates
(the (x - x0) factor scales by 1/std, the gradient by std), so attributing in z space gives exactly
the pixel-space attribution with the noise drawn in normalised units. InputXGradient is not
invariant (x * grad), so it is always computed in pixel space.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ineqbench.attribution.settings import BASELINES, METHOD_KINDS, METHOD_PRESETS, MethodSpec, resolve_methods

__all__ = ["BASELINES", "METHOD_KINDS", "METHOD_PRESETS", "MethodSpec", "resolve_methods"]

AttributionFn = Callable[..., tuple[torch.Tensor, torch.Tensor | None]]


def _to_normalised(model, x: torch.Tensor) -> torch.Tensor:
    return (x - model.mean) / model.std


# Baselines in pixel space. zero: black; mean: the normalisation mean (zero in normalised space, the
# released code's choice); gaussian: mean + std * sigma * N(0, 1), i.e. N(0, sigma^2) in normalised units.
BASELINES.add("zero", lambda model, x, params: torch.zeros_like(x))
BASELINES.add("mean", lambda model, x, params: model.mean.expand_as(x).clone())
BASELINES.add(
    "gaussian",
    lambda model, x, params: model.mean + model.std * params["baseline_sigma_normalised"] * torch.randn_like(x),
)


def _baseline(model, x: torch.Tensor, params: dict) -> torch.Tensor:
    return BASELINES.get(params["baseline"])(model, x, params)


def integrated_gradients(model, x, target, params, internal_batch_size):
    from captum.attr import IntegratedGradients

    baseline = _baseline(model, x, params)
    # IG is invariant under the per-channel affine normalisation, so pixel space is exact here.
    attr, delta = IntegratedGradients(model).attribute(
        x,
        baselines=baseline,
        target=target,
        n_steps=params["n_steps"],
        method=params["method"],
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    return attr, delta


def input_x_gradient(model, x, target, params, internal_batch_size):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x, target=target), None


def gradient(model, x, target, params, internal_batch_size):
    from captum.attr import Saliency

    return Saliency(model).attribute(x, target=target, abs=False), None


def smoothgrad(model, x, target, params, internal_batch_size):
    from captum.attr import NoiseTunnel, Saliency

    # Saliency(abs=False): the signed plain gradient, averaged over noisy copies (Smilkov et al.).
    attr = NoiseTunnel(Saliency(model)).attribute(
        x,
        nt_type="smoothgrad",
        nt_samples=params["nt_samples"],
        stdevs=params["sigma"],
        nt_samples_batch_size=params["nt_samples_batch_size"],
        target=target,
        abs=False,
    )
    return attr, None


def smoothgrad_sq_ig(model, x, target, params, internal_batch_size):
    from captum.attr import IntegratedGradients, NoiseTunnel

    # Noise is N(0, sigma_normalised^2) in normalised space, as the released code; exact because
    # IG is invariant under the normalisation (module docstring).
    z = _to_normalised(model, x)
    z_baseline = _to_normalised(model, _baseline(model, x, params))
    attr = NoiseTunnel(IntegratedGradients(model.backbone)).attribute(
        z,
        nt_type="smoothgrad_sq",
        nt_samples=params["nt_samples"],
        stdevs=params["sigma_normalised"],
        nt_samples_batch_size=params["nt_samples_batch_size"],
        target=target,
        baselines=z_baseline,
        n_steps=params["n_steps"],
        method=params["method"],
        internal_batch_size=internal_batch_size,
    )
    return attr, None


def gradient_shap(model, x, target, params, internal_batch_size):
    from captum.attr import GradientShap

    explainer = GradientShap(model.backbone)

    def attribute(xb: torch.Tensor, tb: torch.Tensor, baselines: torch.Tensor) -> torch.Tensor:
        return explainer.attribute(
            _to_normalised(model, xb),
            baselines=_to_normalised(model, baselines),
            n_samples=params["n_samples"],
            stdevs=params["stdevs_normalised"],
            target=tb,
        )

    if params["baseline"] == "zero_and_input":
        # The released code's baseline distribution {0, x} is per image, and captum shares one
        # distribution across a batch: one call per image.
        pairs = [
            attribute(x[i : i + 1], target[i : i + 1], torch.cat([torch.zeros_like(x[:1]), x[i : i + 1]]))
            for i in range(len(x))
        ]
        return torch.cat(pairs), None
    return attribute(x, target, _baseline(model, x[:1], params)), None


# Built-in method ids. Paper: Duan et al. App. A.8; code: alibaba/easyrobust examples/attacks/inequality.
