"""AutoAttack through the reference implementation, on a linear classifier whose exact distance to the
decision boundary is known: below the smallest distance no attack can succeed, above the largest every
point falls, in l∞ and in l2, so the attack ran at the norm and ε it was given. And where it runs: an
adversarially trained model at its own norm and ε, a standard model at the configured radii."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ineqbench.models.autoattack import autoattack_accuracy
from ineqbench.models.settings import AutoAttackSettings
from ineqbench.models.spec import ModelSpec
from ineqbench.models.train_job import autoattack_radii
from tests.helpers.networks import conv_net

CHEAP = AutoAttackSettings(attacks=["apgd-ce", "apgd-t"], n_target_classes=2, n_images=32)
DUAL = {"linf": 1, "l2": 2}  # the dual norm of each threat norm: a linear margin over it is the distance


def boundary_distances(model, x: torch.Tensor, y: torch.Tensor, norm: str) -> torch.Tensor:
    """Exact distance of each point to the nearest other class of a linear classifier (unbounded input)."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    distances = []
    for j in range(logits.shape[1]):
        gap = logits.gather(1, y[:, None]).squeeze(1) - logits[:, j]
        (grad,) = torch.autograd.grad(gap.sum(), x, retain_graph=True)
        dist = gap.detach() / grad.flatten(1).norm(p=DUAL[norm], dim=1).clamp_min(1e-12)
        distances.append(torch.where(y == j, torch.full_like(dist, float("inf")), dist))
    return torch.stack(distances, 1).amin(1)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_autoattack_fails_below_the_boundary_distance_and_fools_every_point_beyond_it(norm):
    model = conv_net(None, classes=5)  # linear: x -> W (x - mean) / std + b, for 3x8x8 images
    rng = np.random.default_rng(0)
    images = rng.integers(100, 156, (64, 3, 8, 8), dtype=np.uint8)  # mid-grey, so [0, 1] does not bind
    x = torch.from_numpy(images).float() / 255
    labels = model(x).argmax(1)  # every point correct: the attack alone decides robustness
    dist = boundary_distances(model, x, labels, norm)
    keep = (dist < dist.quantile(0.5)).numpy()  # the nearer half, whose ball stays inside [0, 1]
    images, labels, dist = images[keep], labels.numpy()[keep], dist[torch.from_numpy(keep)]
    below = autoattack_accuracy(
        model, images, labels, norm=norm, epsilon=0.9 * float(dist.min()), settings=CHEAP, seed=0,
        device=torch.device("cpu"),
    )  # fmt: skip
    assert below == {"clean": 1.0, "apgd-ce": 1.0, "apgd-t": 1.0, "robust": 1.0}
    beyond = autoattack_accuracy(
        model, images, labels, norm=norm, epsilon=1.1 * float(dist.max()), settings=CHEAP, seed=0,
        device=torch.device("cpu"),
    )  # fmt: skip
    assert beyond["clean"] == 1.0 and beyond["robust"] == 0.0


def test_a_point_counts_as_robust_only_if_every_attack_fails():
    model = conv_net(None, classes=5)
    rng = np.random.default_rng(1)
    images = rng.integers(100, 156, (24, 3, 8, 8), dtype=np.uint8)
    labels = rng.integers(0, 5, 24)  # about a fifth correct to begin with
    result = autoattack_accuracy(
        model, images, labels, norm="linf", epsilon=2 / 255, settings=CHEAP, seed=0, device=torch.device("cpu")
    )
    assert list(result) == ["clean", "apgd-ce", "apgd-t", "robust"]
    assert result["clean"] >= result["apgd-ce"] >= result["apgd-t"] == result["robust"]


def test_the_targeted_attacks_name_the_class_count_they_need():
    with pytest.raises(ValueError, match=r"apgd-t.*at least 4 classes; this model has 3"):
        autoattack_accuracy(
            conv_net(None), np.zeros((2, 3, 8, 8), np.uint8), np.zeros(2, int), norm="linf", epsilon=0.1,
            settings=CHEAP, seed=0, device=torch.device("cpu"),
        )  # fmt: skip


def test_autoattack_runs_at_an_adversarially_trained_models_own_threat_and_a_standard_models_radii():
    radii = {"linf": [2 / 255, 4 / 255], "l2": [0.5]}
    l2_model = ModelSpec(id="m", dataset="d", arch="a", norm="l2", epsilon=0.25)
    assert autoattack_radii(l2_model, radii) == {"l2": [0.25]}
    standard = ModelSpec(id="s", dataset="d", arch="a")
    assert autoattack_radii(standard, {"linf": [4 / 255, 2 / 255], "l2": []}) == {"linf": [2 / 255, 4 / 255]}
    pruned = ModelSpec(id="p", dataset="d", arch="a", variant="prune_weights_90", init_from="s")
    assert autoattack_radii(pruned, radii) == {"linf": [2 / 255]}  # no one's comparator: one radius
    assert AutoAttackSettings().is_standard and not CHEAP.is_standard
