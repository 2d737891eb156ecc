"""The paper's "images correctly classified by all models" filter, applied at aggregation time.

Every model predicts the same seeded pool; the selection is the first `n_images` pool images (in
pool order) that all models of the table classify correctly. If fewer remain, the tables use all of
them and say so: every table states the N it was computed over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Selection:
    pool_index: np.ndarray
    requested: int
    available: int  # pool images correct for every model
    models: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.pool_index)

    @property
    def warning(self) -> str | None:
        if self.n < self.requested:
            return (
                f"only {self.available} pool images are correct for all {len(self.models)} models; "
                f"tables use N = {self.n} instead of the requested {self.requested} (raise pool_size)"
            )
        return None

    def describe(self) -> str:
        return f"N = {self.n} images correctly classified by all {len(self.models)} models"


def correct_for_all(predictions: dict[str, pd.DataFrame], n_images: int) -> Selection:
    correct = None
    for frame in predictions.values():
        ok = frame.set_index("pool_index")["correct"].astype(bool)
        correct = ok if correct is None else (correct & ok)
    chosen = np.sort(correct[correct].index.to_numpy())
    return Selection(chosen[:n_images], n_images, len(chosen), tuple(predictions))


def selection_frame(selection: Selection) -> pd.DataFrame:
    return pd.DataFrame({"pool_index": selection.pool_index})
