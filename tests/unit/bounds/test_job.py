"""The bound stage on one image: rows per (norm, ε, attack), bounds that are zero where the answer is
known, the practical bound never below the first-order one, the surrogate recorded, seeded results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ineqbench.attribution.methods import resolve_methods
from ineqbench.bounds.job import BoundSettings, bound_image, bound_images, prepare_networks
from ineqbench.bounds.settings import BoundsSection
from ineqbench.settings import defaults_of
from tests.helpers.networks import conv_net

SHAPE = (3, 8, 8)
ATTACKS = ["pgd_cross_entropy", "pgd_attribution_l2distance", "pgd_attribution_cosine", "ifia_topk", "sensitivity_max"]


def net(activation: type[nn.Module] | None, seed: int = 0) -> nn.Module:
    return conv_net(activation, 3, seed=seed)


def settings(**changes) -> BoundSettings:
    base = {
        **{k: v for k, v in defaults_of(BoundsSection).items() if k not in ("methods", "models")},
        "seed": 0,
        "n_images": 2,
        "epsilons": {"l2": [0.5], "linf": [2 / 255, 4 / 255]},
        "attack_steps": 3,
        "practical_samples": 1,
        "practical_ascent_steps": 1,
        "sigma_max": {"method": "lanczos", "max_iters": 40, "tol": 1e-6},
        "attacks": ATTACKS,
    }
    return BoundSettings(**{**base, **changes})


def method(method_id: str):
    return resolve_methods(
        [method_id], {"ig8": {"kind": "integrated_gradients", "n_steps": 8, "baseline": "gaussian"}}
    ).get(method_id)


def image(seed: int = 3) -> torch.Tensor:
    return torch.rand(*SHAPE, generator=torch.Generator().manual_seed(seed))


def test_a_linear_model_has_a_constant_gradient_so_every_bound_and_deviation_is_zero():
    nets = prepare_networks(net(None), beta=10.0)
    rows = pd.DataFrame(bound_image(nets, method("gradient"), image(), 0, settings(), 4, 7))
    assert not nets.surrogate and rows["surrogate"].eq(False).all() and rows["surrogate_beta"].isna().all()
    assert len(rows) == 3 * len(ATTACKS)  # (l2, 0.5), (linf, 2/255), (linf, 4/255) times the attacks
    assert (rows["sigma_max"] == 0).all() and rows["sigma_max_dense"].isna().all()
    assert (rows[["bound_first_order", "bound_practical"]] == 0).all().all()
    np.testing.assert_allclose(rows["deviation"], 0, atol=1e-6)
    assert (rows["cosine_bound_first_order"] == 1).all()
    # no surrogate: the real network's deviations are the bounded map's own
    assert rows["real_deviation"].equals(rows["deviation"]) and rows["real_cosine"].equals(rows["cosine"])


@pytest.mark.parametrize("method_id", ["gradient", "ig8"])
def test_relu_network_rows_hold_consistent_bounds(method_id):
    nets = prepare_networks(net(nn.ReLU), beta=5.0)
    x = image()
    rows = pd.DataFrame(bound_image(nets, method(method_id), x, 1, settings(), 4, 11))
    assert nets.surrogate and (rows["surrogate_beta"] == 5.0).all()
    assert sorted(rows["attack"].unique()) == sorted(ATTACKS)
    assert rows["prediction"].nunique() == 1 and rows["correct"].eq(rows["prediction"] == 1).all()
    assert rows["sigma_max"].gt(0).all() and rows["sigma_converged"].all()
    assert rows["gini_global"].between(0, 1).all() and rows["gini_regional"].between(0, 1).all()
    for (norm, eps), part in rows.groupby(["norm", "epsilon"]):
        bound_columns = ["bound_first_order", "bound_practical", "cosine_bound_first_order", "cosine_bound_practical"]
        assert (part[bound_columns].nunique() == 1).all()  # one bound per (image, norm, ε)
        first = part["bound_first_order"].iloc[0]
        scale = 1.0 if norm == "l2" else math.sqrt(x.numel())
        assert first == pytest.approx(eps * scale * part["sigma_max"].iloc[0])
        assert part["bound_practical"].iloc[0] >= first
        norm_a = part["attribution_norm"].iloc[0]
        assert part["cosine_bound_first_order"].iloc[0] == pytest.approx(
            math.sqrt(1 - (first / norm_a) ** 2) if first < norm_a else -1.0
        )
    assert rows["iterations_counted"].le(rows["iterations_total"]).all()
    assert rows["real_deviation"].notna().all()  # measured on the real ReLU network's map


def test_the_margin_scales_every_euclidean_bound():
    nets = prepare_networks(net(nn.Softplus), beta=10.0)
    plain = pd.DataFrame(bound_image(nets, method("gradient"), image(), 0, settings(attacks=ATTACKS[:1]), 4, 5))
    wide = pd.DataFrame(
        bound_image(nets, method("gradient"), image(), 0, settings(attacks=ATTACKS[:1], margin=1.5), 4, 5)
    )
    np.testing.assert_allclose(wide["bound_first_order"], 1.5 * plain["bound_first_order"], rtol=1e-6)


def test_the_dense_jacobian_adds_the_column_norm_linf_bound():
    nets = prepare_networks(net(nn.Softplus), beta=10.0)
    x = image()
    rows = pd.DataFrame(
        bound_image(nets, method("gradient"), x, 0, settings(dense_jacobian=True, attacks=ATTACKS[:1]), 4, 5)
    )
    linf = rows[rows["norm"] == "linf"].iloc[0]
    assert np.isfinite(linf["column_norm_sum"])
    assert linf["sigma_max"] == pytest.approx(linf["sigma_max_dense"], rel=1e-4)  # Lanczos agrees with the SVD
    expected = linf["epsilon"] * min(math.sqrt(x.numel()) * linf["sigma_max_dense"], linf["column_norm_sum"])
    assert linf["bound_first_order"] == pytest.approx(expected)


def test_images_are_bounded_in_pool_order_and_reproducibly():
    nets = prepare_networks(net(nn.ReLU), beta=10.0)
    images = (np.stack([image(s).numpy() for s in (1, 2)]) * 255).astype(np.uint8)

    def run():
        return bound_images(
            nets,
            method("ig8"),
            images,
            np.array([0, 2]),
            np.array([40, 7]),
            settings(attacks=["pgd_attribution_l2distance", "sensitivity_max"]),
            4,
            torch.device("cpu"),
        )

    first, second = run(), run()
    assert list(first["pool_index"].unique()) == [40, 7]
    pd.testing.assert_frame_equal(first, second)  # seeded per image: the gaussian baseline and the attacks
