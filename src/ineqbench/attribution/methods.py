"""Attribution methods: captum wrappers ("kinds") and named parameterisations ("method ids").

A method id names exactly one parameterisation: `ig` and `ig_zero` differ in their baseline, so they
are two ids and two caches. Users add ids in the config (`attribution.custom`) as {kind, params}.

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
from dataclasses import dataclass, field

import torch

from ineqbench.registry import Registry

AttributionFn = Callable[..., tuple[torch.Tensor, torch.Tensor | None]]


@dataclass(frozen=True)
class MethodKind:
    compute: AttributionFn  # (model, x, target, params, internal_batch_size) -> (attr, delta or None)
    defaults: dict
    stochastic: bool
    description: str
    baselines: tuple[str, ...] = ()  # accepted values of the `baseline` parameter, checked at config load


@dataclass(frozen=True)
class MethodSpec:
    id: str
    kind: str
    params: dict = field(default_factory=dict)

    @property
    def stochastic(self) -> bool:
        return METHOD_KINDS.get(self.kind).stochastic

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "params": self.params}


METHOD_KINDS: Registry[MethodKind] = Registry("attribution method kind")


def _to_normalised(model, x: torch.Tensor) -> torch.Tensor:
    return (x - model.mean) / model.std


# Baselines in pixel space. zero: black; mean: the normalisation mean (zero in normalised space, the
# released code's choice); gaussian: mean + std * sigma * N(0, 1), i.e. N(0, sigma^2) in normalised units.
BASELINES: Registry[Callable[[torch.nn.Module, torch.Tensor, dict], torch.Tensor]] = Registry("baseline")
BASELINES.add("zero", lambda model, x, params: torch.zeros_like(x))
BASELINES.add("mean", lambda model, x, params: model.mean.expand_as(x).clone())
BASELINES.add(
    "gaussian",
    lambda model, x, params: model.mean + model.std * params["baseline_sigma_normalised"] * torch.randn_like(x),
)


def _baseline(model, x: torch.Tensor, params: dict) -> torch.Tensor:
    return BASELINES.get(params["baseline"])(model, x, params)


def _integrated_gradients(model, x, target, params, internal_batch_size):
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


METHOD_KINDS.add(
    "integrated_gradients",
    MethodKind(
        compute=_integrated_gradients,
        defaults={"n_steps": 20, "method": "riemann_right", "baseline": "zero", "baseline_sigma_normalised": 1.0},
        stochastic=True,  # only with the gaussian baseline, but seeding is harmless otherwise
        description="captum IntegratedGradients; Riemann or Gauss-Legendre steps; convergence delta recorded",
        baselines=tuple(BASELINES),
    ),
)


def _input_x_gradient(model, x, target, params, internal_batch_size):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x, target=target), None


METHOD_KINDS.add(
    "input_x_gradient",
    MethodKind(
        compute=_input_x_gradient,
        defaults={},
        stochastic=False,
        description="captum InputXGradient in pixel space (x * dlogit/dx)",
    ),
)


def _gradient(model, x, target, params, internal_batch_size):
    from captum.attr import Saliency

    return Saliency(model).attribute(x, target=target, abs=False), None


METHOD_KINDS.add(
    "gradient",
    MethodKind(
        compute=_gradient,
        defaults={},
        stochastic=False,
        description="captum Saliency with abs=False: the signed plain gradient of the target logit",
    ),
)


def _smoothgrad(model, x, target, params, internal_batch_size):
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


METHOD_KINDS.add(
    "smoothgrad",
    MethodKind(
        compute=_smoothgrad,
        defaults={"nt_samples": 20, "sigma": 0.15, "nt_samples_batch_size": 20},
        stochastic=True,
        description="NoiseTunnel(smoothgrad) over the signed plain gradient; sigma in pixel units",
    ),
)


def _smoothgrad_sq_ig(model, x, target, params, internal_batch_size):
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


METHOD_KINDS.add(
    "smoothgrad_sq_ig",
    MethodKind(
        compute=_smoothgrad_sq_ig,
        defaults={
            "nt_samples": 20,
            "sigma_normalised": 0.2,
            "nt_samples_batch_size": 1,
            "n_steps": 50,
            "method": "gausslegendre",
            "baseline": "mean",
        },
        stochastic=True,
        description="the released code's NoiseTunnel(IG, smoothgrad_sq); noise in normalised units",
        baselines=tuple(BASELINES),
    ),
)


def _gradient_shap(model, x, target, params, internal_batch_size):
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


METHOD_KINDS.add(
    "gradient_shap",
    MethodKind(
        compute=_gradient_shap,
        defaults={"n_samples": 20, "stdevs_normalised": 0.0, "baseline": "zero", "baseline_sigma_normalised": 1.0},
        stochastic=True,
        description="captum GradientShap (expected gradients); noise in normalised units",
        baselines=(*BASELINES, "zero_and_input"),
    ),
)


# Built-in method ids. Paper: Duan et al. App. A.8; code: alibaba/easyrobust examples/attacks/inequality.
METHOD_PRESETS: dict[str, tuple[str, dict]] = {
    "ig": ("integrated_gradients", {"baseline": "gaussian"}),  # paper: 20 steps, N(0,1) baseline
    "ig_zero": ("integrated_gradients", {"baseline": "zero"}),  # 20 steps, black baseline
    "ig_code": ("integrated_gradients", {"n_steps": 50, "method": "gausslegendre", "baseline": "mean"}),
    "ixg": ("input_x_gradient", {}),
    "gradient": ("gradient", {}),  # the plain gradient (the bounds stage's second attribution)
    "smoothgrad": ("smoothgrad", {}),
    "smoothgrad_sq_ig": ("smoothgrad_sq_ig", {}),  # the released code's "nt"
    "gradshap": ("gradient_shap", {}),  # paper: n_samples 20, baseline 0
    "gradshap_code": ("gradient_shap", {"n_samples": 50, "stdevs_normalised": 0.01, "baseline": "zero_and_input"}),
}


def method_spec(method_id: str, kind: str, params: dict) -> MethodSpec:
    info = METHOD_KINDS.get(kind)
    unknown = set(params) - set(info.defaults)
    if unknown:
        raise ValueError(
            f"method {method_id!r}: unknown parameters {sorted(unknown)} for kind {kind!r}; "
            f"valid: {sorted(info.defaults)}"
        )
    merged = {**info.defaults, **params}
    if "baseline" in merged and merged["baseline"] not in info.baselines:
        raise ValueError(
            f"method {method_id!r}: unknown baseline {merged['baseline']!r} for kind {kind!r}; "
            f"valid: {', '.join(info.baselines)}"
        )
    return MethodSpec(method_id, kind, merged)


def resolve_methods(ids: list[str], custom: dict[str, dict]) -> dict[str, MethodSpec]:
    """Method ids from the config -> specs with every parameter filled in."""
    clash = set(custom) & set(METHOD_PRESETS)
    if clash:
        raise ValueError(f"custom method ids {sorted(clash)} shadow built-in ids; choose other names")
    table = {
        **{k: (kind, p) for k, (kind, p) in METHOD_PRESETS.items()},
        **{k: (v["kind"], {p: x for p, x in v.items() if p != "kind"}) for k, v in custom.items()},
    }
    resolved = {}
    for method_id in ids:
        if method_id not in table:
            raise ValueError(f"unknown method id {method_id!r}; valid: {', '.join(sorted(table))}")
        kind, params = table[method_id]
        resolved[method_id] = method_spec(method_id, kind, params)
    return resolved
