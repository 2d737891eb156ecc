"""A timm ViT needs its fused attention switched off before its attribution can be differentiated."""

from __future__ import annotations

import math

import pytest
import timm
import torch
from torch.func import jvp

from ineqbench.bounds.differentiable import attribution_map, disable_fused_attention
from ineqbench.bounds.spectral import power_iteration
from ineqbench.models.wrapper import NormalizedClassifier


@pytest.fixture(scope="module")
def vit() -> torch.nn.Module:
    torch.manual_seed(0)
    backbone = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, num_classes=4, img_size=32, patch_size=8, depth=1
    )
    return NormalizedClassifier(backbone, mean=[0.5] * 3, std=[0.5] * 3).eval()


def test_disable_fused_attention(vit):
    attention = [m for m in vit.modules() if hasattr(m, "fused_attn")]
    assert attention  # the test would prove nothing on a model without timm attention
    for m in attention:
        m.fused_attn = True  # what timm picks on a torch with scaled_dot_product_attention
    assert disable_fused_attention(vit) == len(attention)
    assert not any(m.fused_attn for m in attention)
    assert disable_fused_attention(vit) == 0  # idempotent


def test_vit_sigma_max_and_ig_jvp(vit):
    disable_fused_attention(vit)
    x = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    gradient = attribution_map("gradient", vit, 1)
    estimate = power_iteration(gradient, x, max_iters=3, tol=0.0)
    assert estimate.iterations == 3 and math.isfinite(estimate.sigma_max) and estimate.sigma_max > 0
    ig = attribution_map("integrated_gradients", vit, 1, {"n_steps": 4})
    _, tangent = jvp(ig, (x,), (torch.randn_like(x),))
    assert torch.isfinite(tangent).all() and tangent.abs().sum() > 0
