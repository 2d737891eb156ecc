"""Per-image seeds: every random draw about one image is seeded by (experiment seed, pool index), so it
is the same whatever the batch, the job split, the machine or the device."""

from __future__ import annotations

import numpy as np


def image_seed(seed: int, pool_index: int, *stream: int) -> int:
    """A 63-bit seed for one image; `stream` keeps independent draws about the same image apart."""
    words = [seed, int(pool_index), *stream]
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0] >> 1)
