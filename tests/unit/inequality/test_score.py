"""score_maps and mass_in_mask."""

import numpy as np
import pytest
import torch

from ineqbench.gini import gini
from ineqbench.inequality.score import mass_in_mask, score_maps


def maps_and_masks():
    """Image 0: all mass inside its mask; image 1: half of the mass inside; image 2: signed."""
    maps = np.zeros((3, 2, 4, 4), np.float32)
    masks = np.zeros((3, 4, 4), bool)
    masks[0, :2, :2] = True
    maps[0, 0, 0, 0], maps[0, 1, 1, 1], maps[0, 1, 0, 1] = 1.0, 2.0, 5.0
    masks[1, :, :2] = True
    maps[1, 0, :, :2] = 1.0  # 8 inside
    maps[1, 1, :, 2:] = 1.0  # 8 outside
    masks[2, 3, 3] = True
    maps[2, 0, 3, 3] = -4.0  # inside, negative
    maps[2, 0, 0, 0] = 4.0  # outside, positive
    return maps, masks


def test_mass_in_mask_values():
    maps, masks = maps_and_masks()
    share = mass_in_mask(torch.from_numpy(np.abs(maps)), torch.from_numpy(masks))
    assert share.dtype == torch.float64
    assert share.tolist() == [1.0, 0.5, 0.5]


def test_mass_in_mask_of_zero_map_is_nan():
    share = mass_in_mask(torch.zeros(1, 3, 4, 4), torch.ones(1, 4, 4, dtype=torch.bool))
    assert torch.isnan(share).all()


def test_score_maps_long_frame_values():
    maps, masks = maps_and_masks()
    frame = score_maps(maps, masks, ["abs", "relu"], region_size=2, batch_size=2)
    assert list(frame.columns) == [
        "transform",
        "gini_global",
        "gini_regional",
        "mass_in_mask",
        "zero_mass",
        "nonfinite",
    ]
    assert frame["transform"].tolist() == ["abs"] * 3 + ["relu"] * 3
    abs_rows, relu_rows = frame.iloc[:3], frame.iloc[3:]
    np.testing.assert_array_equal(abs_rows["mass_in_mask"].to_numpy(), [1.0, 0.5, 0.5])
    # relu drops the negative inside mass of image 2: all of what is left lies outside
    np.testing.assert_array_equal(relu_rows["mass_in_mask"].to_numpy(), [1.0, 0.5, 0.0])
    expected_global = gini(torch.from_numpy(np.abs(maps).reshape(3, -1)))[0].numpy()
    np.testing.assert_allclose(abs_rows["gini_global"].to_numpy(), expected_global, rtol=0, atol=1e-12)
    # image 1 regional (2x2 blocks): block sums [4, 4, 4, 4] -> 0
    assert abs_rows["gini_regional"].iloc[1] == pytest.approx(0.0, abs=1e-12)
    # image 0 regional: all mass in one of 4 blocks -> 0.75
    assert abs_rows["gini_regional"].iloc[0] == pytest.approx(0.75, abs=1e-12)
    assert not frame["zero_mass"].any() and not frame["nonfinite"].any()


def test_score_maps_batching_does_not_change_the_result():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 3, 8, 8)).astype(np.float32)
    masks = rng.random((5, 8, 8)) < 0.3
    whole = score_maps(maps, masks, ["abs", "relu"], 4, batch_size=256)
    pieces = score_maps(maps, masks, ["abs", "relu"], 4, batch_size=2)
    assert whole.equals(pieces)


def test_score_maps_without_masks_gives_nan_share_and_flags_zero_mass():
    maps = np.zeros((2, 1, 4, 4), np.float32)
    maps[1, 0, 0, 0] = -1.0  # relu -> all zero
    frame = score_maps(maps, None, ["relu"], 2)
    assert frame["mass_in_mask"].isna().all()
    assert frame["zero_mass"].tolist() == [True, True]
    assert frame["gini_global"].tolist() == [0.0, 0.0]


def test_a_map_with_nan_or_inf_is_flagged_and_its_gini_is_nan_not_a_number_that_looks_valid():
    maps = np.ones((4, 1, 4, 4), np.float32)
    maps[1, 0, 2, 2] = np.nan
    maps[2, 0, 0, 0] = np.inf
    maps[3, 0, 1, 1] = -np.inf  # relu would turn it into a zero: the flag still reads the map itself
    frame = score_maps(maps, None, ["abs", "relu"], 2)
    assert frame["nonfinite"].tolist() == [False, True, True, True] * 2
    broken = frame[frame["nonfinite"]]
    assert broken["gini_global"].isna().all() and broken["gini_regional"].isna().all()
    assert not broken["zero_mass"].any()  # counted once, as non-finite
    assert frame.loc[0, "gini_global"] == pytest.approx(0.0)
