"""What every attack family works on: one model's correctly classified pool images, in batches, with
their cached attribution maps when the family is guided by them."""

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
        keep = logits_of(model, split.images, split.labels, device).argmax(1) == split.labels
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
    """Predicted class and top-2 logit margin of each image."""
    logits = model(x).float()
    top2 = logits.topk(2, dim=1).values
    return logits.argmax(1).cpu().numpy(), (top2[:, 0] - top2[:, 1]).cpu().numpy()
