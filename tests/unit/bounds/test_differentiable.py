"""Differentiable attributions equal captum's, and can be differentiated again."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients, Saliency
from torch import nn
from torch.func import jacrev, jvp, vjp, vmap

from ineqbench.bounds.differentiable import (
    DIFFERENTIABLE_KINDS,
    attribution_map,
    gradient,
    gradient_batch,
    integrated_gradients,
    integrated_gradients_batch,
    resolve_baseline,
)
from ineqbench.models.wrapper import NormalizedClassifier

METHODS = ["riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gausslegendre"]


def tiny_net(activation: type[nn.Module], seed: int = 0) -> nn.Module:
    """A small conv net with BatchNorm and pooling, normalisation inside, float64, eval mode."""
    torch.manual_seed(seed)
    backbone = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        activation(),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        activation(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 5),
    )
    model = NormalizedClassifier(backbone, mean=[0.4, 0.5, 0.6], std=[0.2, 0.25, 0.3]).double().eval()
    with torch.no_grad():  # non-trivial running statistics, so eval-mode BatchNorm is not the identity
        model.backbone[1].running_mean.uniform_(-0.5, 0.5)
        model.backbone[1].running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(params=[nn.Softplus, nn.ReLU], ids=["softplus", "relu"])
def net(request) -> nn.Module:
    return tiny_net(request.param)


def images(n: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("baseline", ["zero", "random"])
def test_ig_equals_captum(net, method, baseline):
    xs, targets = images(), torch.tensor([0, 3, 4])
    x0 = torch.zeros_like(xs) if baseline == "zero" else images(seed=7)
    expected = IntegratedGradients(net).attribute(xs, baselines=x0, target=targets, n_steps=7, method=method)
    got = integrated_gradients_batch(net, xs, targets, x0, n_steps=7, method=method)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert (got - expected).abs().max() < 1e-7  # float64: agreement far below the required 1e-5
    single = integrated_gradients(net, xs[1], 3, x0[1], n_steps=7, method=method)
    torch.testing.assert_close(single, got[1], rtol=1e-12, atol=1e-12)


def test_ig_internal_batch_size_changes_nothing(net):
    xs, targets = images(), torch.tensor([0, 3, 4])
    full = integrated_gradients_batch(net, xs, targets, n_steps=6)
    chunked = integrated_gradients_batch(net, xs, targets, n_steps=6, internal_batch_size=4)
    torch.testing.assert_close(chunked, full, rtol=1e-12, atol=1e-12)


def test_gradient_equals_captum_saliency_exactly(net):
    xs, targets = images(), torch.tensor([2, 0, 1])
    expected = Saliency(net).attribute(xs.clone().requires_grad_(), target=targets, abs=False)
    assert torch.equal(gradient_batch(net, xs, targets), expected)
    assert torch.equal(gradient(net, xs[0], 2), expected[0])


def test_attribution_is_differentiable_again():
    """A(x) goes through jacrev, jvp, vjp and vmap; they agree with each other and with finite differences."""
    model = tiny_net(nn.Softplus)
    x, v = images(1)[0], images(1, seed=3)[0] - 0.5
    A = attribution_map("integrated_gradients", model, 1, {"n_steps": 5})
    J = jacrev(A)(x).reshape(x.numel(), x.numel())
    _, jv = jvp(A, (x,), (v,))
    torch.testing.assert_close(jv.reshape(-1), J @ v.reshape(-1), rtol=1e-9, atol=1e-12)
    _, pullback = vjp(A, x)
    torch.testing.assert_close(pullback(v)[0].reshape(-1), J.T @ v.reshape(-1), rtol=1e-9, atol=1e-12)
    h = 1e-6
    fd = (A(x + h * v) - A(x - h * v)) / (2 * h)
    torch.testing.assert_close(jv, fd, rtol=1e-5, atol=1e-8)
    assert J.abs().sum() > 0
    xs = images(3)
    torch.testing.assert_close(vmap(A)(xs), torch.stack([A(xi) for xi in xs]), rtol=1e-12, atol=1e-12)


def test_relu_gradient_jacobian_is_zero():
    """Why the surrogate exists: a ReLU network's gradient attribution has a zero Jacobian (a.e.)."""
    model = tiny_net(nn.ReLU)
    J = jacrev(attribution_map("gradient", model, 0))(images(1)[0])
    assert torch.count_nonzero(J) == 0


def test_attribution_map_params_and_registry():
    model = tiny_net(nn.Softplus)
    x = images(1)[0]
    assert set(DIFFERENTIABLE_KINDS.names()) >= {"gradient", "integrated_gradients"}
    # A suite method spec's parameters pass straight through; the baseline keys are resolved separately.
    params = {"n_steps": 4, "method": "gausslegendre", "baseline": "mean", "baseline_sigma_normalised": 1.0}
    x0 = resolve_baseline(model, x, params, seed=0)
    torch.testing.assert_close(x0, model.mean[0].expand_as(x).to(x.dtype))
    A = attribution_map("integrated_gradients", model, 2, params, baseline=x0)
    torch.testing.assert_close(A(x), integrated_gradients(model, x, 2, x0, n_steps=4, method="gausslegendre"))
    with pytest.raises(ValueError, match="unknown parameters"):
        attribution_map("integrated_gradients", model, 2, {"n_step": 4})
    with pytest.raises(KeyError, match="Did you mean"):
        attribution_map("integrated_gradient", model, 2)
    with pytest.raises(ValueError, match="eval mode"):
        attribution_map("gradient", model.train(), 0)
