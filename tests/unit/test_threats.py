"""PGD: stays in the threat ball and in [0, 1], raises the loss, and takes the textbook first step."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ineqbench.registry import UnknownNameError
from ineqbench.threats import THREAT_NORMS, pgd


def linear_setup(seed: int = 0, n: int = 8):
    """A linear classifier on 3x8x8 images, and images it classifies as labelled (argmax of its logits),
    so the clean loss is low and an attack has something to raise."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4)).eval()
    with torch.no_grad():
        model[1].weight.mul_(5.0)
    x = torch.rand(n, 3, 8, 8)
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


def mid_images(n: int = 4):
    """Images well inside (0, 1), so a small step is never clipped."""
    return 0.3 + 0.4 * torch.rand(n, 3, 8, 8)


def loss_per_image(model, x, y):
    with torch.no_grad():
        return F.cross_entropy(model(x), y, reduction="none")


def test_threat_norms_registered():
    assert THREAT_NORMS.names() == ["l2", "linf"]
    model, x, y = linear_setup()
    with pytest.raises(UnknownNameError, match="Did you mean 'linf'"):
        pgd(model, x, y, norm="linff", epsilon=0.1, steps=1)


@pytest.mark.parametrize("random_start", [True, False])
def test_linf_stays_within_eps_and_in_unit_range(random_start):
    model, x, y = linear_setup()
    x[0] = 0.0  # at the box corners, clipping is active
    x[1] = 1.0
    eps = 8 / 255
    torch.manual_seed(1)
    adv = pgd(model, x, y, norm="linf", epsilon=eps, steps=5, random_start=random_start)
    assert adv.shape == x.shape and not adv.requires_grad
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    # most pixels reach the boundary of the ball (2.5 eps / steps budget), so it did move
    assert ((adv - x).abs() > 0.9 * eps).float().mean() > 0.5


@pytest.mark.parametrize("random_start", [True, False])
def test_l2_stays_within_eps_and_in_unit_range(random_start):
    model, x, y = linear_setup()
    x[0] = 1.0
    eps = 0.5
    torch.manual_seed(2)
    adv = pgd(model, x, y, norm="l2", epsilon=eps, steps=7, random_start=random_start)
    norms = (adv - x).flatten(1).norm(dim=1)
    assert (norms <= eps + 1e-5).all()
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    # images away from the box edges end on the sphere
    assert norms[2:].min() > 0.99 * eps


@pytest.mark.parametrize("norm,eps", [("linf", 4 / 255), ("l2", 0.25)])
def test_pgd_increases_the_loss(norm, eps):
    model, x, y = linear_setup()
    torch.manual_seed(3)
    adv = pgd(model, x, y, norm=norm, epsilon=eps, steps=10)
    clean, attacked = loss_per_image(model, x, y), loss_per_image(model, adv, y)
    assert (attacked > clean).all()
    assert attacked.mean() > clean.mean() + 0.05


def test_pgd_does_better_than_random_noise_of_the_same_size():
    model, x, y = linear_setup(n=16)
    eps = 4 / 255
    torch.manual_seed(4)
    adv = pgd(model, x, y, norm="linf", epsilon=eps, steps=10)
    noisy = (x + eps * torch.sign(torch.randn_like(x))).clamp(0, 1)
    assert loss_per_image(model, adv, y).mean() > loss_per_image(model, noisy, y).mean()


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("eps,steps", [(0.0, 10), (0.1, 0), (-0.1, 5)])
def test_zero_budget_returns_the_input_unchanged(norm, eps, steps):
    model, x, y = linear_setup()
    adv = pgd(model, x, y, norm=norm, epsilon=eps, steps=steps)
    assert torch.equal(adv, x)
    assert adv.data_ptr() != x.data_ptr()  # a copy: the caller's tensor is not aliased


def input_gradient(model, x, y):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return grad


def test_one_linf_step_without_random_start_is_fgsm():
    model, _, _ = linear_setup()
    x = mid_images()
    y = torch.tensor([0, 1, 2, 3])
    eps = 0.05
    adv = pgd(model, x, y, norm="linf", epsilon=eps, steps=1, random_start=False)
    # step 2.5 eps, projected back to eps: x + eps * sign(grad)
    expected = x + eps * torch.sign(input_gradient(model, x, y))
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-6)


def test_one_l2_step_without_random_start_is_normalised_gradient_ascent():
    model, _, _ = linear_setup()
    x = mid_images()
    y = torch.tensor([3, 2, 1, 0])
    eps = 0.2
    adv = pgd(model, x, y, norm="l2", epsilon=eps, steps=1, random_start=False)
    g = input_gradient(model, x, y)
    expected = x + eps * g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-6)


def test_explicit_step_size_is_used():
    model, _, _ = linear_setup()
    x = mid_images()
    y = torch.tensor([0, 0, 1, 1])
    adv = pgd(model, x, y, norm="linf", epsilon=0.1, steps=2, step_size=0.01, random_start=False)
    # two signed steps of 0.01, neither projected (0.02 < eps) nor clipped (x in [0.3, 0.7])
    x1 = x + 0.01 * torch.sign(input_gradient(model, x, y))
    x2 = x1 + 0.01 * torch.sign(input_gradient(model, x1, y))
    torch.testing.assert_close(adv, x2, rtol=0, atol=1e-6)
    assert (adv - x).abs().max() == pytest.approx(0.02, abs=1e-6)


def test_random_start_is_seeded_by_torch():
    model, x, y = linear_setup()
    torch.manual_seed(9)
    a = pgd(model, x, y, norm="l2", epsilon=0.3, steps=2)
    torch.manual_seed(9)
    b = pgd(model, x, y, norm="l2", epsilon=0.3, steps=2)
    torch.manual_seed(10)
    c = pgd(model, x, y, norm="l2", epsilon=0.3, steps=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_random_starts_lie_in_the_ball():
    torch.manual_seed(0)
    x = torch.zeros(64, 3, 4, 4)
    linf = THREAT_NORMS.get("linf").random_start(x, 0.1)
    l2 = THREAT_NORMS.get("l2").random_start(x, 0.1)
    assert linf.abs().max() <= 0.1 and linf.abs().max() > 0.09
    norms = l2.flatten(1).norm(dim=1)
    assert norms.max() <= 0.1 + 1e-6 and norms.min() >= 0
    assert norms.std() > 0.01  # radius is random, not always on the sphere


def test_projections():
    delta = torch.tensor([[[[3.0, -4.0]]], [[[0.3, 0.4]]]])
    torch.testing.assert_close(
        THREAT_NORMS.get("linf").project(delta, 1.0), torch.tensor([[[[1.0, -1.0]]], [[[0.3, 0.4]]]])
    )
    # l2: the first (norm 5) is scaled to norm 1, the second (norm 0.5) is left alone
    torch.testing.assert_close(
        THREAT_NORMS.get("l2").project(delta, 1.0), torch.tensor([[[[0.6, -0.8]]], [[[0.3, 0.4]]]])
    )


@pytest.mark.parametrize("norm,eps", [("linf", 0.05), ("l2", 0.5)])
def test_default_step_size_is_two_and_a_half_eps_over_steps(norm, eps):
    model, _, _ = linear_setup()
    x = mid_images()
    y = torch.tensor([0, 1, 2, 3])
    default = pgd(model, x, y, norm=norm, epsilon=eps, steps=8, random_start=False)
    explicit = pgd(model, x, y, norm=norm, epsilon=eps, steps=8, step_size=2.5 * eps / 8, random_start=False)
    other = pgd(model, x, y, norm=norm, epsilon=eps, steps=8, step_size=2.0 * eps / 8, random_start=False)
    assert torch.equal(default, explicit)
    assert not torch.allclose(default, other, atol=1e-5)
    # after one step of 2.5 eps / 8 the attack is still strictly inside the ball
    one = pgd(model, x, y, norm=norm, epsilon=eps, steps=1, step_size=2.5 * eps / 8, random_start=False)
    size = (one - x).abs().flatten(1).amax(1) if norm == "linf" else (one - x).flatten(1).norm(dim=1)
    torch.testing.assert_close(size, torch.full((4,), 2.5 * eps / 8), rtol=0, atol=1e-6)
