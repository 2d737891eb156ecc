"""Inductive occlusion: hand-listed patches on a 4x4 image, centres, colours, loop orders, and the
batched search against the sequential Algorithm 1."""

import pytest
import torch
from torch import nn

from ineqbench.attacks.occlusion import (
    CENTRES,
    COLOURS,
    LOOP_ORDERS,
    OcclusionSettings,
    centres_of,
    coverage,
    occlude,
    occlusion_mask,
    rebuild_occluded,
    search_batched,
    search_sequential,
)
from ineqbench.models.logits import NO_CLASS

MEAN = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
STD = torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)


def block_map() -> torch.Tensor:
    """(1, 3, 4, 4) attribution whose 2x2 block sums rank: bottom-right, top-left, top-right, bottom-left."""
    a = torch.zeros(1, 3, 4, 4)
    a[0, 0, 2:, 2:] = 4.0  # block (1, 1): sum 16
    a[0, 0, :2, :2] = 3.0  # block (0, 0): 12
    a[0, 0, :2, 2:] = 2.0  # block (0, 1): 8
    a[0, 0, 2:, :2] = -1.0  # block (1, 0): -4 (the largest |sum| after abs would be 16, 12, 8, then this)
    return a


def pixels(mask: torch.Tensor) -> set[tuple[int, int]]:
    return {tuple(p) for p in mask.nonzero().tolist()}


def test_region_centres_follow_the_block_ranking():
    centres = centres_of(block_map(), 4, OcclusionSettings(), region_size=2)
    assert centres[0].tolist() == [[3, 3], [1, 1], [1, 3], [3, 1]]


def test_pixel_centres_are_the_largest_pixels_of_the_channel_mean():
    a = torch.zeros(1, 3, 4, 4)
    a[0, :, 0, 2] = 5.0
    a[0, 1, 3, 0] = 6.0  # channel mean 2.0: below the 5.0 pixel
    a[0, :, 2, 1] = 1.0
    centres = centres_of(a, 3, OcclusionSettings(centres="pixels"), region_size=2)
    assert centres[0].tolist() == [[0, 2], [3, 0], [2, 1]]


def test_candidate_patches_listed_by_hand():
    cover = coverage(centres_of(block_map(), 2, OcclusionSettings(), region_size=2), 4, 4)

    def occluded(n, r):
        return pixels(occlusion_mask(cover, torch.tensor([n]), torch.tensor([r]))[0])

    # n = 1, r = 1: rows [2, 4) x cols [2, 4), exactly the top block
    assert occluded(1, 1) == {(2, 2), (2, 3), (3, 2), (3, 3)}
    # n = 2, r = 1: plus the second block, rows [0, 2) x cols [0, 2)
    assert occluded(2, 1) == {(2, 2), (2, 3), (3, 2), (3, 3), (0, 0), (0, 1), (1, 0), (1, 1)}
    # n = 1, r = 2: rows [1, 5) x cols [1, 5), clipped at the border to rows and cols 1..3
    assert occluded(1, 2) == {(i, j) for i in (1, 2, 3) for j in (1, 2, 3)}
    # n = 2, r = 2: the second patch, rows [-1, 3) x cols [-1, 3), adds rows and cols 0..2
    assert occluded(2, 2) == occluded(1, 2) | {(i, j) for i in (0, 1, 2) for j in (0, 1, 2)}


def test_occlude_writes_the_fill_in_every_channel_and_nothing_else():
    x = torch.full((1, 3, 4, 4), 0.7)
    cover = coverage(centres_of(block_map(), 1, OcclusionSettings(), region_size=2), 4, 4)
    fill = COLOURS.get("grey")(x, MEAN, STD)
    out = occlude(x, fill, cover, torch.tensor([1]), torch.tensor([1]))
    assert (out[0, :, 2:, 2:] == 0.5).all()
    out[0, :, 2:, 2:] = 0.7
    assert torch.equal(out, x)


def test_colours_in_pixel_units():
    x = torch.rand(2, 3, 4, 4)
    assert (COLOURS.get("black")(x, MEAN, STD) == 0).all()
    assert (COLOURS.get("grey")(x, MEAN, STD) == 0.5).all()
    assert (COLOURS.get("white")(x, MEAN, STD) == 1).all()
    # the released code's fill: the normalised image's minimum over all channels, mapped back per channel
    z_min = ((x - MEAN) / STD).flatten(1).min(1).values.view(-1, 1, 1, 1)
    assert torch.allclose(COLOURS.get("image_min")(x, MEAN, STD), (z_min * STD + MEAN).clamp(0, 1))


def test_loop_orders():
    assert LOOP_ORDERS.get("regions_outer")(2, 3) == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert LOOP_ORDERS.get("radius_outer")(2, 3) == [(1, 1), (2, 1), (1, 2), (2, 2), (1, 3), (2, 3)]


def test_too_many_centres_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot pick 5 centres among 4"):
        centres_of(block_map(), 5, OcclusionSettings(), region_size=2)


class BlackShare(nn.Module):
    """Fooled (class 1 wins) once more than 30% of the pixels are black: 5 of 16 on a 4x4 image."""

    def forward(self, x):
        black = (x == 0).all(dim=1).flatten(1).float().mean(1)
        return torch.stack([0.3 - black, torch.zeros_like(black)], dim=1)


@pytest.mark.parametrize("loop, stop, n, r", [("regions_outer", 1, 1, 2), ("radius_outer", 1, 2, 1)])
@pytest.mark.parametrize("search", ["sequential", "batched"])
def test_search_stops_at_the_first_fooling_candidate_known_by_hand(loop, stop, n, r, search):
    # regions_outer: (1,1) covers 4 px, (1,2) covers 9 -> fooled; radius_outer: (1,1) 4 px, (2,1) 8 -> fooled
    x = torch.full((1, 3, 4, 4), 0.6)
    cover = coverage(centres_of(block_map(), 2, OcclusionSettings(), region_size=2), 4, 4)
    fill = COLOURS.get("black")(x, MEAN, STD)
    candidates = LOOP_ORDERS.get(loop)(2, 2)
    y = torch.tensor([0])
    if search == "sequential":
        found = search_sequential(BlackShare(), x, y, fill, cover, candidates)
    else:
        found = search_batched(BlackShare(), x, y, fill, cover, candidates, chunk=3)
    assert found.success.item() and found.stop.item() == stop and candidates[stop] == (n, r)
    assert found.prediction.item() == 1


def test_search_without_success_stops_at_the_last_candidate():
    x = torch.full((2, 3, 4, 4), 0.6)
    cover = coverage(centres_of(block_map().repeat(2, 1, 1, 1), 1, OcclusionSettings(), region_size=2), 4, 4)
    fill = COLOURS.get("white")(x, MEAN, STD)  # white never counts as black: never fooled
    found = search_batched(BlackShare(), x, torch.tensor([0, 0]), fill, cover, [(1, 1), (1, 2)], chunk=1)
    assert not found.success.any() and found.stop.tolist() == [1, 1] and found.prediction.tolist() == [0, 0]


def tiny_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 5)
    ).eval()


@pytest.mark.parametrize("loop", sorted(LOOP_ORDERS))
@pytest.mark.parametrize("centre_rule", sorted(CENTRES))
@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_batched_search_makes_the_sequential_decisions_image_by_image(loop, centre_rule, chunk):
    model = tiny_cnn(3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 3, 8, 8, generator=g)
    maps = torch.randn(24, 3, 8, 8, generator=g)
    with torch.no_grad():
        y = model(x).argmax(1)  # every image "correct"
    settings = OcclusionSettings(loop=loop, centres=centre_rule)
    cover = coverage(centres_of(maps, 4, settings, region_size=2), 8, 8)
    candidates = LOOP_ORDERS.get(loop)(4, 3)
    for colour in ("black", "grey", "white"):
        fill = COLOURS.get(colour)(x, MEAN, STD)
        seq = search_sequential(model, x, y, fill, cover, candidates)
        bat = search_batched(model, x, y, fill, cover, candidates, chunk=chunk, batch_size=16)
        differ = (seq.stop != bat.stop) | (seq.success != bat.success) | (seq.prediction != bat.prediction)
        # batched kernels round differently; only an image with a top-2 margin below 1e-5 on the way may differ
        tolerated = differ & (seq.min_margin < 1e-5)
        assert torch.equal(differ, tolerated), (
            f"{colour}: images {differ.nonzero().flatten().tolist()} differ between the batched and the sequential "
            "search although every top-2 margin they met was >= 1e-5"
        )
        if tolerated.any():
            print(f"{colour}: images {tolerated.nonzero().flatten().tolist()} differ, all with a margin below 1e-5")
        assert 0 < seq.success.sum() < len(x)  # the case is not trivial: some images are fooled, some hold
        assert torch.allclose(seq.min_margin, bat.min_margin, atol=1e-5)


def test_rebuild_regenerates_the_searched_image():
    g = torch.Generator().manual_seed(1)
    x, maps = torch.rand(6, 3, 8, 8, generator=g), torch.randn(6, 3, 8, 8, generator=g)
    settings = OcclusionSettings()
    cover = coverage(centres_of(maps, 3, settings, 2), 8, 8)
    fill = COLOURS.get("grey")(x, MEAN, STD)
    n, r = torch.tensor([1, 2, 3, 1, 2, 3]), torch.tensor([1, 1, 2, 3, 2, 1])
    expected = occlude(x, fill, cover, n, r)
    assert torch.equal(rebuild_occluded(x, maps, 3, "grey", n, r, settings, 2, MEAN, STD), expected)


class NanWhenOccluded(nn.Module):
    """Class 0 (the label) on the clean image; NaN logits, which argmax reads as class 0, once a pixel
    is black."""

    def forward(self, x):
        black = (x == 0).all(dim=1).flatten(1).any(1)
        logits = torch.tensor([[1.0, 0.0]]).repeat(len(x), 1)
        return torch.where(black[:, None], torch.full_like(logits, float("nan")), logits)


def test_the_search_stops_at_nan_logits_and_says_so_instead_of_holding():
    x = torch.full((1, 3, 4, 4), 0.6)
    cover = coverage(centres_of(block_map(), 1, OcclusionSettings(), region_size=2), 4, 4)
    fill = COLOURS.get("black")(x, MEAN, STD)
    found = search_batched(NanWhenOccluded(), x, torch.tensor([0]), fill, cover, [(1, 1), (1, 2)], chunk=2)
    assert found.stop.item() == 0 and found.prediction.item() == NO_CLASS and found.margin.isnan().item()
