"""Attributions written with torch.func, so they can be differentiated again.

captum computes its gradients with `torch.autograd.grad` and no graph, so the attribution it returns
is a leaf: no Jacobian, no jvp, no attack gradient through it. The bounds of this stage need the input
Jacobian J(x) = dA/dx of the attribution, and the attacks need gradients of functions of A. Here the
plain gradient and Integrated Gradients are written with `torch.func.grad`, which composes with
`jacrev`, `jvp`, `vjp` and `vmap` to any order.

Sameness with the rest of the suite. Integrated Gradients uses captum's quadrature
(`ineqbench.attribution.quadrature`: the step positions and weights of riemann_left/right/middle/
trapezoid and gausslegendre, tested equal to captum's), the same straight path baseline
+ alpha (x - baseline) and the same final product with (x - baseline), so for a given baseline the
map equals `captum.attr.IntegratedGradients` (checked to 1e-5 in the tests). The plain gradient is
captum's `Saliency(abs=False)`.

Conventions. Models are in eval mode and take [0, 1] pixels (normalisation inside, as every model of
the suite). A single-image map takes x of shape (C, H, W) and returns an attribution of the same
shape; the batched functions take (N, C, H, W). Gradients of a batch are taken through the sum of the
per-image target logits: in eval mode the images of a batch do not interact, so this is the per-image
gradient at the cost of one backward pass (and no vmap over the model, which some layers refuse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import grad

from ineqbench.attribution.quadrature import quadrature
from ineqbench.bounds.settings import DIFFERENTIABLE_KINDS

AttributionMap = Callable[[torch.Tensor], torch.Tensor]  # x (C, H, W) -> A(x) (C, H, W)

# The IG parameters that describe the baseline; they are resolved to a tensor once per image
# (`resolve_baseline`), because a bound speaks of one fixed map x -> A(x).
BASELINE_KEYS = ("baseline", "baseline_sigma_normalised")


def _check_eval(model: nn.Module) -> None:
    # In train mode BatchNorm mixes the images of a batch (and the IG path steps), so the
    # batch-sum gradient would no longer be a per-image gradient.
    if model.training:
        raise ValueError("differentiable attributions need the model in eval mode (call model.eval())")


def target_logits(model: nn.Module, xs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The logit of each image's target class, shape (N,)."""
    return model(xs).gather(1, targets.view(-1, 1).to(torch.long)).squeeze(1)


def _as_targets(targets: torch.Tensor | int | list[int], n: int, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(targets, dtype=torch.long, device=device)
    return t.expand(n) if t.dim() == 0 else t


def gradient_batch(model: nn.Module, xs: torch.Tensor, targets: torch.Tensor | int | list[int]) -> torch.Tensor:
    """d logit_t / dx for each image of a batch (N, C, H, W): captum's Saliency(abs=False)."""
    _check_eval(model)
    t = _as_targets(targets, xs.shape[0], xs.device)
    return grad(lambda z: target_logits(model, z, t).sum())(xs)


def gradient(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    """The plain gradient of the target logit for one image x (C, H, W)."""
    return gradient_batch(model, x.unsqueeze(0), target)[0]


def ig_rule(
    method: str, n_steps: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(alphas, weights) of captum's quadrature rule `method` with `n_steps` points, in the model's dtype
    (`ineqbench.attribution.quadrature`, tested equal to captum's), so both implementations integrate at
    the same points."""
    alphas, weights = quadrature(method, n_steps)
    return torch.tensor(alphas, dtype=dtype, device=device), torch.tensor(weights, dtype=dtype, device=device)


def integrated_gradients_batch(
    model: nn.Module,
    xs: torch.Tensor,
    targets: torch.Tensor | int | list[int],
    baselines: torch.Tensor | None = None,
    *,
    n_steps: int = 20,
    method: str = "riemann_right",
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Integrated Gradients of a batch (N, C, H, W), as captum computes it, but differentiable.

    IG(x) = (x - x0) * sum_k w_k grad f_t(x0 + a_k (x - x0)) with captum's (a_k, w_k). `baselines`
    broadcasts against xs (None: black, captum's default). `internal_batch_size` bounds how many
    path points go through the model at once (memory), as captum's argument of the same name.
    """
    _check_eval(model)
    n = xs.shape[0]
    t = _as_targets(targets, n, xs.device)
    x0 = torch.zeros_like(xs) if baselines is None else baselines.expand_as(xs)
    alphas, weights = ig_rule(method, n_steps, dtype=xs.dtype, device=xs.device)
    shape = (-1, *([1] * xs.dim()))
    # Alpha-major order (all images at a_1, then all at a_2, ...), as captum builds its batch.
    path = (x0.unsqueeze(0) + alphas.view(shape) * (xs - x0).unsqueeze(0)).reshape(n_steps * n, *xs.shape[1:])
    path_targets = t.repeat(n_steps)
    chunk = path.shape[0] if internal_batch_size is None else max(1, internal_batch_size)
    grads = torch.cat(
        [
            grad(lambda z, tt=path_targets[i : i + chunk]: target_logits(model, z, tt).sum())(path[i : i + chunk])
            for i in range(0, path.shape[0], chunk)
        ]
    )
    mean_grad = (weights.view(shape) * grads.view(n_steps, *xs.shape)).sum(0)
    return mean_grad * (xs - x0)


def integrated_gradients(
    model: nn.Module, x: torch.Tensor, target: int, baseline: torch.Tensor | None = None, **kwargs
) -> torch.Tensor:
    """Integrated Gradients of one image x (C, H, W); keyword arguments as `integrated_gradients_batch`."""
    b = None if baseline is None else baseline.unsqueeze(0)
    return integrated_gradients_batch(model, x.unsqueeze(0), target, b, **kwargs)[0]


@dataclass(frozen=True)
class DifferentiableKind:
    """A differentiable attribution: `build(model, target, params, baseline)` returns x -> A(x)."""

    build: Callable[[nn.Module, int, dict, torch.Tensor | None], AttributionMap]
    defaults: dict = field(default_factory=dict)
    description: str = ""


# Keyed like the attribution method kinds (`ineqbench.attribution.methods.METHOD_KINDS`) where one
# exists, so a method spec of the suite maps to its differentiable twin by name.

DIFFERENTIABLE_KINDS.add(
    "gradient",
    DifferentiableKind(
        build=lambda model, target, params, baseline: lambda x: gradient(model, x, target),
        description="plain gradient of the target logit (captum Saliency, abs=False)",
    ),
)

DIFFERENTIABLE_KINDS.add(
    "integrated_gradients",
    DifferentiableKind(
        build=lambda model, target, params, baseline: (
            lambda x: integrated_gradients(
                model,
                x,
                target,
                baseline,
                n_steps=params["n_steps"],
                method=params["method"],
                internal_batch_size=params["internal_batch_size"],
            )
        ),
        defaults={"n_steps": 20, "method": "riemann_right", "internal_batch_size": None},
        description="Integrated Gradients with captum's quadrature rules and a fixed baseline",
    ),
)


def attribution_map(
    kind: str, model: nn.Module, target: int, params: dict | None = None, baseline: torch.Tensor | None = None
) -> AttributionMap:
    """The map x (C, H, W) -> A(x) of a registered kind, usable under jacrev / jvp / vjp / vmap.

    `params` may be a method spec's parameters: its baseline keys are resolved separately
    (`resolve_baseline`) and ignored here; any other unknown key is an error.
    """
    info = DIFFERENTIABLE_KINDS.get(kind)
    params = {k: v for k, v in (params or {}).items() if k not in BASELINE_KEYS}
    unknown = set(params) - set(info.defaults)
    if unknown:
        raise ValueError(
            f"unknown parameters {sorted(unknown)} for differentiable kind {kind!r}; valid: {sorted(info.defaults)}"
        )
    _check_eval(model)
    return info.build(model, target, {**info.defaults, **params}, baseline)


def resolve_baseline(model: nn.Module, x: torch.Tensor, params: dict, seed: int) -> torch.Tensor | None:
    """The baseline tensor (C, H, W) that a method spec's parameters name, drawn once from `seed`.

    Uses the suite's baseline registry, so "zero", "mean" and "gaussian" mean what they mean for
    the cached attributions. A gaussian baseline is random: draw it once per image and keep it, since
    a bound and its attacks must describe the same map.
    """
    if "baseline" not in params:
        return None
    from ineqbench.attribution.methods import BASELINES, ImageDraws

    draws = ImageDraws([seed], x.device)
    return BASELINES.get(params["baseline"])(model, x.unsqueeze(0), params, draws)[0].to(x.dtype)


def disable_fused_attention(model: nn.Module) -> int:
    """Switch timm's fused attention off in every module of `model`; returns how many were switched.

    timm's attention blocks call F.scaled_dot_product_attention when their `fused_attn` flag is set,
    and the fused CPU kernel has neither a double-backward nor a forward-AD formula (torch 2.x:
    "derivative for _scaled_dot_product_flash_attention_for_cpu_backward is not implemented"), so
    the Jacobian of a gradient attribution through it fails. The flag is read in forward, so setting
    it on the built modules selects timm's explicit softmax(q k^T) v path, which is the same function.
    `timm.layers.set_fused_attn(False)` only affects modules built afterwards, hence the per-module flag.
    """
    switched = 0
    for module in model.modules():
        if getattr(module, "fused_attn", False):
            module.fused_attn = False
            switched += 1
    return switched
