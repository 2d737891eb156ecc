"""Random draws per image: each image of a batch has its own generator, seeded by (experiment seed,
pool index), so its noise, random baselines and path positions are the same whatever the batch size,
the batch it lands in, a resume, or the job split (`ineqbench.seeds`). The draws are made on the
device the model runs on; a CPU and a GPU run draw different numbers (as their arithmetic differs)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ineqbench.seeds import image_seed

ATTRIBUTION_STREAM = 2  # keeps these draws apart from others seeded by the same (seed, pool index)


class ImageDraws:
    """One generator per image; `normal(i, shape)` etc. draw for image i, in the order they are called."""

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(int(s)) for s in seeds]

    @classmethod
    def for_pool(cls, seed: int, pool_indices: Sequence[int], device: torch.device | str = "cpu") -> ImageDraws:
        return cls([image_seed(seed, int(p), ATTRIBUTION_STREAM) for p in pool_indices], device)

    def __len__(self) -> int:
        return len(self.generators)

    def normal(self, i: int, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=self.generators[i], device=self.device, dtype=dtype)

    def uniform(self, i: int, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.rand(tuple(shape), generator=self.generators[i], device=self.device, dtype=dtype)

    def integers(self, i: int, high: int, shape: Sequence[int]) -> torch.Tensor:
        return torch.randint(high, tuple(shape), generator=self.generators[i], device=self.device)
