"""The softplus(β) surrogate: every ReLU module swapped in a copy, logits approach the ReLU net's."""

from __future__ import annotations

import pytest
import timm
import torch
from timm.layers import create_act_layer
from torch import nn

from ineqbench.bounds.surrogate import softplus_surrogate


def relu_net() -> nn.Module:
    torch.manual_seed(0)
    return (
        nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), create_act_layer("relu", inplace=True)),  # timm's factory
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(6, 4),
        )
        .double()
        .eval()
    )


def test_logits_approach_relu_as_beta_grows():
    model = relu_net()
    x = torch.rand(8, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        reference = model(x)
        gaps = [
            (softplus_surrogate(model, beta).model(x) - reference).abs().max().item()
            for beta in (1.0, 10.0, 100.0, 1000.0)
        ]
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 1e-2 and gaps[0] > 10 * gaps[-1]


def test_copy_records_beta_and_leaves_original():
    model = relu_net()
    surrogate = softplus_surrogate(model, 10.0)
    assert surrogate.beta == 10.0 and surrogate.model.surrogate_beta == 10.0
    assert surrogate.replaced == 2 and surrogate.kinked_left == ()
    assert not any(isinstance(m, nn.ReLU) for m in surrogate.model.modules())
    assert sum(isinstance(m, nn.Softplus) and m.beta == 10.0 for m in surrogate.model.modules()) == 2
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 2  # the real network is untouched
    assert not surrogate.model.training
    with pytest.raises(ValueError):
        softplus_surrogate(model, 0.0)


def test_timm_resnet_every_relu_swapped():
    """timm builds ReLUs through act_layer / create_act_layer, also inside BatchNormAct2d: all are modules."""
    model = timm.create_model("resnet18", pretrained=False, num_classes=3).eval()
    n_relu = sum(isinstance(m, nn.ReLU) for m in model.modules())
    surrogate = softplus_surrogate(model, 5.0)
    assert surrogate.replaced == n_relu > 0
    assert not any(isinstance(m, nn.ReLU) for m in surrogate.model.modules())
    assert surrogate.kinked_left == ("maxpool",)  # the stem max-pool stays kinked, and is reported
    with torch.no_grad():
        assert torch.isfinite(surrogate.model(torch.rand(1, 3, 32, 32))).all()


def test_smooth_model_needs_nothing():
    model = nn.Sequential(nn.Linear(3, 3), nn.GELU())
    assert softplus_surrogate(model, 10.0).replaced == 0
