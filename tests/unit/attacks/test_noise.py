"""Inductive noise attack: budgets, rankings, hand-checkable masks on a 4x4 image, units, seeding."""

import numpy as np
import pytest
import torch

from ineqbench.attacks.noise import (
    NOISE_DISTRIBUTIONS,
    NOISE_TYPES,
    NoiseSettings,
    apply_noise,
    budget_count,
    noise_seed,
    parse_budget,
    plan_noise,
)
from ineqbench.attacks.ranking import RANKINGS, descending_ranks

MEAN = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
STD = torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)


def tiny_batch(b: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, 4, 4) pixels away from 0 and 1, and maps whose order is known: element j has value j."""
    g = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.4 * torch.rand(b, 3, 4, 4, generator=g)
    maps = torch.arange(48, dtype=torch.float32).view(1, 3, 4, 4).repeat(b, 1, 1, 1)
    return x, maps


def settings(**kw) -> NoiseSettings:
    return NoiseSettings(**{"seed": 7, **kw})


# ------------------------------------------------------------------ budgets


@pytest.mark.parametrize(
    "value, expected", [(500, 500), ("5000/150528", 5000 / 150528), (0.25, 0.25), ("1/4", 0.25), (1, 1), ("1", 1.0)]
)
def test_parse_budget_counts_and_fractions(value, expected):
    assert parse_budget(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", [0, -3, 1.5, "2/1", "abc", True, "1/0"])
def test_parse_budget_rejects_bad_values_with_the_value_in_the_message(value):
    with pytest.raises(ValueError, match=str(value) if value is not True else "True"):
        parse_budget(value)


def test_budget_count_scales_the_papers_thresholds_to_the_image():
    assert budget_count("5000/150528", 3 * 224 * 224) == 5000
    assert [budget_count(f"{k}/150528", 3 * 32 * 32) for k in (500, 1000, 5000, 10000, 20000)] == [
        10,
        20,
        102,
        204,
        408,
    ]
    assert budget_count("1/150528", 48) == 1  # at least one element
    with pytest.raises(ValueError, match="has 48"):
        budget_count(100, 48)


# ------------------------------------------------------------------ ranking


def test_descending_ranks_hand_checked_with_ties_by_position():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.9]])
    assert descending_ranks(scores).tolist() == [[3, 0, 2, 1]]


def test_signed_and_abs_rankings_differ_on_a_large_negative():
    a = torch.tensor([[3.0, -5.0, 1.0]])
    assert descending_ranks(RANKINGS.get("signed")(a)).tolist() == [[0, 2, 1]]
    assert descending_ranks(RANKINGS.get("abs")(a)).tolist() == [[1, 0, 2]]


# ------------------------------------------------------------------ masks and values on a 4x4 image


def changed(x: torch.Tensor, x_new: torch.Tensor) -> set[int]:
    return set((x_new != x).flatten(1)[0].nonzero().flatten().tolist())


def test_type1_noises_exactly_the_k_largest_elements_and_leaves_the_rest_bit_identical():
    x, maps = tiny_batch()
    plan = plan_noise(x, maps, [1, 2], settings(), MEAN, STD)
    x_new = apply_noise(plan, "type1", 3)
    assert changed(x, x_new) == {47, 46, 45}  # the three largest map values are elements 45..47
    untouched = torch.ones(48, dtype=torch.bool)
    untouched[[45, 46, 47]] = False
    assert torch.equal(x_new.flatten(1)[:, untouched], x.flatten(1)[:, untouched])


def test_type1_adds_sigma_times_std_in_pixels_and_type2_writes_mean_plus_sigma_std_z():
    x, maps = tiny_batch(1)
    seed = noise_seed(7, 0)
    z = torch.randn((3, 4, 4), generator=torch.Generator().manual_seed(seed))
    plan = plan_noise(x, maps, [seed], settings(sigma=0.1), MEAN, STD)
    # element 47 = channel 2, row 3, col 3 (std 0.3, mean 0.6); sigma 0.1 keeps the values inside [0, 1]
    type1 = apply_noise(plan, "type1", 1)[0, 2, 3, 3]
    type2 = apply_noise(plan, "type2", 1)[0, 2, 3, 3]
    assert type1.item() == pytest.approx(x[0, 2, 3, 3].item() + 0.1 * 0.3 * z[2, 3, 3].item(), abs=1e-6)
    assert type2.item() == pytest.approx(0.6 + 0.1 * 0.3 * z[2, 3, 3].item(), abs=1e-6)


def test_random_type_noises_the_first_k_elements_of_the_seeded_permutation():
    x, maps = tiny_batch(1)
    seed = noise_seed(7, 5)
    g = torch.Generator().manual_seed(seed)
    torch.randn((3, 4, 4), generator=g)  # the noise field is drawn first
    expected = set(torch.randperm(48, generator=g)[:5].tolist())
    plan = plan_noise(x, maps, [seed], settings(sigma=0.1), MEAN, STD)
    assert changed(x, apply_noise(plan, "random", 5)) == expected


def test_noise_is_clipped_to_the_valid_pixel_range():
    x, maps = tiny_batch()
    plan = plan_noise(x, maps, [1, 2], settings(sigma=50.0), MEAN, STD)
    for noise_type in NOISE_TYPES:
        x_new = apply_noise(plan, noise_type, 48)
        assert x_new.min() >= 0 and x_new.max() <= 1
        assert ((x_new == 0) | (x_new == 1)).float().mean() > 0.5  # sigma 50 saturates most elements


def test_uniform_noise_stays_in_the_images_normalised_range():
    x, maps = tiny_batch()
    plan = plan_noise(x, maps, [1, 2], settings(distribution="uniform"), MEAN, STD)
    z = (x - MEAN) / STD
    for noise_type in NOISE_TYPES:
        z_new = (apply_noise(plan, noise_type, 48) - MEAN) / STD
        lo, hi = z.flatten(1).min(1).values, z.flatten(1).max(1).values
        assert (z_new.flatten(1).min(1).values >= lo - 1e-5).all()
        assert (z_new.flatten(1).max(1).values <= hi + 1e-5).all()


def test_type2_with_every_element_ignores_the_image():
    x, maps = tiny_batch()
    plan = plan_noise(x, maps, [3, 3], settings(), MEAN, STD)
    other = plan_noise(torch.rand_like(x), maps, [3, 3], settings(), MEAN, STD)
    assert torch.allclose(apply_noise(plan, "type2", 48), apply_noise(other, "type2", 48))


def test_masks_are_nested_in_k_and_ranked_masks_shared_by_type1_and_type2():
    x, maps = tiny_batch()
    plan = plan_noise(x, maps, [1, 2], settings(), MEAN, STD)
    small, large = changed(x, apply_noise(plan, "type1", 4)), changed(x, apply_noise(plan, "type1", 9))
    assert small < large
    assert changed(x, apply_noise(plan, "type2", 4)) == small == {44, 45, 46, 47}


# ------------------------------------------------------------------ seeding


def test_noise_seed_is_stable_and_distinct_per_image():
    assert noise_seed(0, 3) == noise_seed(0, 3)
    assert len({noise_seed(0, i) for i in range(100)} | {noise_seed(1, 0)}) == 101
    assert noise_seed(0, 3) == 3291213472928352369  # a change of the seeding scheme must be deliberate


def test_an_image_is_regenerated_exactly_whatever_batch_it_is_in():
    x, maps = tiny_batch(3)
    seeds = [noise_seed(0, i) for i in (10, 11, 12)]
    together = plan_noise(x, maps, seeds, settings(), MEAN, STD)
    alone = plan_noise(x[2:], maps[2:], seeds[2:], settings(), MEAN, STD)
    for noise_type in NOISE_TYPES:
        assert torch.equal(apply_noise(together, noise_type, 7)[2:], apply_noise(alone, noise_type, 7))


def test_registries_hold_the_papers_variants():
    assert set(NOISE_TYPES) == {"random", "type1", "type2"}
    assert set(NOISE_DISTRIBUTIONS) == {"gaussian", "uniform"}
    assert NoiseSettings().ranking == "signed" and NoiseSettings().distribution == "gaussian"
    assert np.isclose(budget_count(NoiseSettings().budgets[2], 150528), 5000)
