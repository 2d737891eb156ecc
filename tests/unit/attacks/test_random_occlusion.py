"""The random-region control: N distinct blocks drawn uniformly per image, seeded by (seed, pool index),
nested across budgets, then Algorithm 1's search unchanged; rows rebuild their occluded images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ineqbench.attacks.inputs import AttackInputs
from ineqbench.attacks.occlusion import COLOURS, coverage, occlude
from ineqbench.attacks.random_occlusion import (
    RandomOcclusionSettings,
    occlusion_seed,
    random_centres,
    random_occlusion_attack,
)
from ineqbench.attacks.settings import AttackContext

SIZE, REGION = 16, 4  # a 4 x 4 grid of 16 blocks


def test_regions_are_distinct_blocks_and_their_centres():
    centres = random_centres(np.arange(50), 7, REGION, SIZE, SIZE)
    assert centres.shape == (50, 7, 2)
    assert ((centres % REGION) == REGION // 2).all()  # a block's centre, as the ranked regions use
    blocks = (centres[..., 0] // REGION) * (SIZE // REGION) + centres[..., 1] // REGION
    assert all(len(set(row.tolist())) == 7 for row in blocks)


def test_the_draw_is_seeded_and_budgets_nest():
    seeds = [occlusion_seed(0, p) for p in (3, 9, 12)]
    small, large = random_centres(seeds, 2, REGION, SIZE, SIZE), random_centres(seeds, 5, REGION, SIZE, SIZE)
    torch.testing.assert_close(large[:, :2], small)  # the first n of N: a smaller budget's regions
    torch.testing.assert_close(random_centres(seeds, 5, REGION, SIZE, SIZE), large)
    assert occlusion_seed(0, 3) != occlusion_seed(1, 3) != occlusion_seed(0, 4)


def test_every_block_is_drawn_about_equally_often():
    firsts = random_centres([occlusion_seed(0, p) for p in range(3200)], 1, REGION, SIZE, SIZE)[:, 0]
    blocks = (firsts[:, 0] // REGION) * (SIZE // REGION) + firsts[:, 1] // REGION
    counts = np.bincount(blocks.numpy(), minlength=16)
    expected = 3200 / 16
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 37.7  # the 99.9% quantile of chi-square with 15 degrees of freedom


class _Linear(torch.nn.Module):
    """A fixed linear classifier on pixels, with the mean and std every suite model carries."""

    def __init__(self):
        super().__init__()
        self.weight = torch.randn(3, 3 * SIZE * SIZE, generator=torch.Generator().manual_seed(0))
        self.mean, self.std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.25)

    def forward(self, x):
        return x.flatten(1) @ self.weight.T


def _inputs(model) -> AttackInputs:
    images = np.random.default_rng(0).integers(0, 256, (12, 3, SIZE, SIZE), dtype=np.uint8)
    with torch.no_grad():
        labels = model(torch.from_numpy(images).float() / 255).argmax(1).numpy()
    return AttackInputs(model, np.arange(100, 112), images, labels, None, torch.device("cpu"))


def test_rows_do_not_depend_on_the_batch_and_rebuild_their_images():
    model = _Linear()
    context = AttackContext(region_size=REGION, budgets=({"regions": 3, "radius": 2},))
    rows = {
        batch: random_occlusion_attack(_inputs(model), RandomOcclusionSettings(batch_size=batch, seed=7), context)
        .sort_values(["pool_index", "budget", "colour"])
        .reset_index(drop=True)
        for batch in (1, 5, 12)
    }
    pd.testing.assert_frame_equal(rows[1], rows[5])
    pd.testing.assert_frame_equal(rows[1], rows[12])
    inputs, found = _inputs(model), rows[12]
    black = found[found["colour"] == "black"]
    x = torch.from_numpy(inputs.images).float() / 255
    centres = random_centres(black["occlusion_seed"].to_numpy(), 3, REGION, SIZE, SIZE)
    n, r = (torch.from_numpy(black[c].to_numpy().astype(np.int64)) for c in ("n", "r"))
    rebuilt = occlude(x, COLOURS.get("black")(x, model.mean, model.std), coverage(centres, SIZE, SIZE), n, r)
    with torch.no_grad():
        assert (model(rebuilt).argmax(1).numpy() == black["prediction"].to_numpy()).all()
