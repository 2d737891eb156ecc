"""What every attack family works on: one model's correctly classified pool images, in batches, with
their cached attribution maps when the family is guided by them.

An attacked image whose logits hold a NaN or ±Inf predicts `NO_CLASS` (-1) (ineqbench.models.logits):
a broken forward pass, not an attack outcome, so the attack rows mark it (`logits_finite = False`) and
the tables count it and leave it out of the error rates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ineqbench.attribution.cache import AttributionMaps, load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.models.checkpoint import load_model
from ineqbench.models.logits import NO_CLASS, predicted_class, top2_margin
from ineqbench.models.predict_job import logits_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttackInputs:
    """One model's correctly classified pool images, with their cached attribution maps or none.

    `maps` is the cache's lazy view of those images' maps: each batch reads its own rows (float32), so
    the maps are never all in memory. Families not guided by attributions get `maps=None`, and their
    batches carry None in its place."""

    model: torch.nn.Module
    pool_index: np.ndarray
    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray
    maps: AttributionMaps | np.ndarray | None  # (N, C, H, W), rows read as float32
    device: torch.device

    def batches(self, size: int) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor, torch.Tensor | None]]:
        for start in range(0, len(self.labels), size):
            part = slice(start, start + size)
            x = torch.from_numpy(self.images[part]).float().div_(255.0).to(self.device)
            maps = None if self.maps is None else torch.from_numpy(self.maps[part]).to(self.device)
            yield part, x, torch.from_numpy(self.labels[part]).to(self.device), maps


def load_attack_inputs(
    weights_path: str,
    card_path: str,
    attributions_path: str | None,
    test_path: str,
    pool_path: str,
    *,
    threads: int = 1,
    correct_only: bool = True,
) -> AttackInputs:
    """The model's pool images (only those it classifies correctly, by default) and, given a path, their
    attribution maps, checked to belong to the same pool."""
    device = select_device(threads)
    model = load_model(weights_path, card_path, device)
    pool, split = load_pool_images(test_path, pool_path)
    maps = None
    if attributions_path is not None:
        maps, arrays, _ = load_attributions(attributions_path)
        if not np.array_equal(arrays["pool_index"], pool["pool_index"].to_numpy()):
            raise ValueError(f"{attributions_path} was computed on another pool than {pool_path}; rerun `attribute`")
    keep = np.ones(len(pool), bool)
    if correct_only:
        logits = torch.from_numpy(logits_of(model, split.images, split.labels, device))
        keep = predicted_class(logits).numpy() == split.labels
        log.info("%d of %d pool images correctly classified: attacking those", keep.sum(), len(keep))
    return AttackInputs(
        model,
        pool["pool_index"].to_numpy()[keep],
        split.images[keep],
        split.labels[keep],
        None if maps is None else maps.select(keep),
        device,
    )


def concat_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every batch; none when the model classifies no pool image correctly (logged)."""
    if not frames:
        log.warning("no correctly classified pool image to attack: writing an empty table")
        return pd.DataFrame({"pool_index": pd.Series(dtype="int64")})
    return pd.concat(frames, ignore_index=True)


def predict(model, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and top-2 logit margin of each image (`NO_CLASS` and NaN for non-finite logits)."""
    logits = model(x).float()
    return predicted_class(logits).cpu().numpy(), top2_margin(logits).cpu().numpy()


def logits_finite(prediction: np.ndarray) -> np.ndarray:
    """The `logits_finite` column of attack rows: False where the prediction is `NO_CLASS`."""
    return np.asarray(prediction) != NO_CLASS
