"""Gini index (global and regional) against hand-computed values and a brute-force reference."""

import numpy as np
import pytest
import torch

from ineqbench.gini import block_sums, gini, global_gini, nonfinite_rows, regional_gini


def reference_gini(values) -> float:
    """The paper's formula, one row, with explicit 1-based ranks over the ascending sort:
    Gini = (1/n) (n + 1 - 2 * sum_i (n + 1 - i) phi_i / sum_i phi_i)."""
    phi = sorted(float(v) for v in values)
    n = len(phi)
    total = sum(phi)
    weighted = sum((n + 1 - i) * phi[i - 1] for i in range(1, n + 1))
    return (n + 1 - 2 * weighted / total) / n


def test_known_values_from_the_paper_examples():
    g, zero = gini(torch.tensor([[0.0, 0, 0, 1, 1], [0.0, 0, 0, 1, 1000]]))
    assert g.dtype == torch.float64
    assert g[0].item() == pytest.approx(0.6, abs=1e-4)
    assert g[1].item() == pytest.approx(0.7996, abs=1e-4)
    assert not zero.any()


@pytest.mark.parametrize("n", [2, 3, 5, 10, 64, 1000])
def test_one_hot_gives_one_minus_one_over_n(n):
    x = torch.zeros(1, n)
    x[0, n // 2] = 3.5
    g, _ = gini(x)
    assert g.item() == pytest.approx(1 - 1 / n, abs=1e-12)


@pytest.mark.parametrize("value", [0.001, 1.0, 7.0, 1e6])
def test_constant_vector_gives_zero(value):
    g, zero = gini(torch.full((1, 17), value))
    assert g.item() == pytest.approx(0.0, abs=1e-12)
    assert not zero.item()


def test_all_zero_row_gives_zero_and_flags_zero_mass_without_error():
    x = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    g, zero = gini(x)
    assert torch.isfinite(g).all()
    assert g[0].item() == 0.0
    assert g[1].item() == pytest.approx(0.75, abs=1e-12)
    assert zero.tolist() == [True, False]


def test_a_row_with_nan_or_inf_gets_nan_and_no_zero_mass_flag_while_the_others_are_untouched():
    x = torch.tensor([[0.0, 1.0, 1.0], [float("nan"), 1.0, 1.0], [float("inf"), 1.0, 1.0], [0.0, 0.0, float("nan")]])
    g, zero = gini(x)
    assert nonfinite_rows(x).tolist() == [False, True, True, True]
    assert g[0].item() == pytest.approx(reference_gini([0, 1, 1]), abs=1e-12)
    assert torch.isnan(g[1:]).all() and not zero.any()


def test_negative_values_raise():
    with pytest.raises(ValueError, match="non-negative"):
        gini(torch.tensor([[0.5, -1e-6, 2.0]]))


def test_non_2d_input_raises():
    with pytest.raises(ValueError, match="batch, n"):
        gini(torch.tensor([1.0, 2.0]))


def test_invariant_to_permutation_and_positive_scaling():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 50, generator=gen, dtype=torch.float64) ** 3
    base, _ = gini(x)
    perm = torch.randperm(50, generator=gen)
    permuted, _ = gini(x[:, perm])
    scaled, _ = gini(x * torch.tensor([[0.01], [3.0], [1e5], [7.5]], dtype=torch.float64))
    torch.testing.assert_close(permuted, base, rtol=0, atol=1e-12)
    torch.testing.assert_close(scaled, base, rtol=0, atol=1e-12)
    # and the rows are genuinely different from each other (the test is not vacuous)
    assert base.max() - base.min() > 1e-3


def test_batch_equals_row_by_row():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(6, 37, generator=gen)
    x[2] = 0  # a zero-mass row inside the batch
    g, zero = gini(x)
    for i in range(len(x)):
        gi, zi = gini(x[i : i + 1])
        assert g[i].item() == gi.item()
        assert zero[i].item() == zi.item()
    assert zero.tolist() == [False, False, True, False, False, False]


@pytest.mark.parametrize("n", [1, 2, 7, 100, 513])
def test_matches_brute_force_reference_formula(n):
    rng = np.random.default_rng(n)
    data = rng.exponential(size=(5, n)) * (rng.random((5, n)) < 0.6)  # sparse-ish, with ties at 0
    data[0, 0] += 1.0  # at least one positive per row
    data[:, -1] += 0.1
    g, zero = gini(torch.from_numpy(data))
    expected = [reference_gini(row) for row in data]
    np.testing.assert_allclose(g.numpy(), expected, rtol=0, atol=1e-10)
    assert not zero.any()


def test_float32_input_is_summed_in_float64():
    rng = np.random.default_rng(3)
    data = rng.random((2, 150_528)).astype(np.float32)
    g, _ = gini(torch.from_numpy(data))
    expected = [reference_gini(row.astype(np.float64)) for row in data]
    np.testing.assert_allclose(g.numpy(), expected, rtol=0, atol=1e-10)


def hand_map() -> torch.Tensor:
    m = torch.zeros(1, 2, 4, 4)
    m[0, 0] = torch.arange(16.0).reshape(4, 4)
    m[0, 1] = 10.0
    return m


def test_block_sums_on_a_hand_made_map():
    sums = block_sums(hand_map(), 2)
    # channel 0 blocks: 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15; channel 1 adds 4 * 10 to each.
    assert sums.shape == (1, 4)
    assert sums.tolist() == [[50.0, 58.0, 82.0, 90.0]]


def test_block_sums_region_one_is_channel_sum_and_full_region_is_total():
    m = hand_map()
    assert torch.equal(block_sums(m, 1), m.sum(1).reshape(1, -1))
    assert block_sums(m, 4).tolist() == [[120.0 + 160.0]]


def test_block_sums_non_square_map_orders_blocks_row_major():
    m = torch.arange(2 * 1 * 2 * 6, dtype=torch.float32).reshape(2, 1, 2, 6)
    sums = block_sums(m, 2)
    # image 0 rows [0..5], [6..11]: blocks (0+1+6+7), (2+3+8+9), (4+5+10+11)
    assert sums[0].tolist() == [14.0, 22.0, 30.0]
    assert sums[1].tolist() == [14.0 + 48, 22.0 + 48, 30.0 + 48]


def test_regional_gini_equals_gini_of_block_sums():
    gen = torch.Generator().manual_seed(2)
    maps = torch.rand(3, 3, 16, 16, generator=gen) ** 4
    for r in (1, 2, 4, 8):
        g, zero = regional_gini(maps, r)
        expected, expected_zero = gini(block_sums(maps, r))
        assert torch.equal(g, expected)
        assert torch.equal(zero, expected_zero)
    # coarser regions average out: regional Gini decreases from r=1 to r=8 on this random map
    assert (regional_gini(maps, 8)[0] < regional_gini(maps, 1)[0]).all()


def test_hand_made_regional_gini_value():
    g, _ = regional_gini(hand_map(), 2)
    assert g.item() == pytest.approx(reference_gini([50, 58, 82, 90]), abs=1e-12)


def test_global_gini_is_gini_over_every_channel_element():
    m = hand_map()
    g, _ = global_gini(m)
    assert g.item() == pytest.approx(reference_gini(m.flatten().tolist()), abs=1e-12)


@pytest.mark.parametrize("region", [3, 5, 16])
def test_region_not_dividing_the_map_raises(region):
    with pytest.raises(ValueError, match=f"region_size {region} does not divide"):
        block_sums(torch.ones(1, 3, 8, 8), region)
    with pytest.raises(ValueError):
        regional_gini(torch.ones(1, 3, 8, 8), region)
