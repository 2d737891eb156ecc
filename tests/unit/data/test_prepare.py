"""draw_pool: the seeded candidate pool of test indices."""

import numpy as np
import pytest

from ineqbench.data.prepare import draw_pool


def test_deterministic_for_a_seed():
    np.testing.assert_array_equal(draw_pool(100, 30, seed=7), draw_pool(100, 30, seed=7))
    assert not np.array_equal(draw_pool(100, 30, seed=7), draw_pool(100, 30, seed=8))


def test_indices_are_valid_and_unique():
    pool = draw_pool(50, 50, seed=1)
    assert sorted(pool.tolist()) == list(range(50))  # the whole set, each once
    pool = draw_pool(1000, 200, seed=2)
    assert len(pool) == 200 and len(np.unique(pool)) == 200
    assert pool.min() >= 0 and pool.max() < 1000


def test_a_larger_pool_extends_a_smaller_one():
    """Pool order is a permutation prefix, so growing pool_size keeps the earlier images."""
    small, large = draw_pool(300, 20, seed=3), draw_pool(300, 120, seed=3)
    np.testing.assert_array_equal(large[:20], small)


def test_pool_larger_than_test_set_raises():
    with pytest.raises(ValueError, match="pool_size 11 exceeds the 10 test images"):
        draw_pool(10, 11, seed=0)
    assert len(draw_pool(10, 0, seed=0)) == 0
