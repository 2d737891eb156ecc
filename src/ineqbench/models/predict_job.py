"""The `predict` stage: one model's predictions on the candidate pool, one row per pool image.

Columns: pool_index, test_index, label, prediction, correct, logit_label, margin (top-1 minus top-2
logit; a small margin flags images whose decision is fragile to round-off), logits_finite.

An image whose logits hold a NaN or ±Inf has `logits_finite = False`, prediction `NO_CLASS` (-1), NaN
margin, and counts as incorrect, so the "correct for all models" selection never keeps it.
"""

from __future__ import annotations

import numpy as np
import torch

from ineqbench.data.batches import pixel_batches
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.io import write_parquet
from ineqbench.models.checkpoint import load_model
from ineqbench.models.logits import finite_rows, predicted_class, top2_margin
from ineqbench.provenance import provenance


@torch.no_grad()
def logits_of(model, images: np.ndarray, labels: np.ndarray, device: torch.device, batch_size: int = 500) -> np.ndarray:
    batches = pixel_batches(images, labels, batch_size, device)
    return np.concatenate([model(x).float().cpu().numpy() for _, x, _ in batches])


def prediction_columns(logits: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The per-image columns the logits decide: prediction, correct, logit_label, margin, logits_finite."""
    scores = torch.from_numpy(logits)
    prediction = predicted_class(scores).numpy()
    return {
        "prediction": prediction,
        "correct": prediction == labels,  # NO_CLASS matches no label: non-finite logits are incorrect
        "logit_label": logits[np.arange(len(logits)), labels],
        "margin": top2_margin(scores).numpy(),
        "logits_finite": finite_rows(scores).numpy(),
    }


def predict(
    *, weights_path: str, card_path: str, test_path: str, pool_path: str, out_path: str, threads: int = 1
) -> None:
    device = select_device(threads)
    model = load_model(weights_path, card_path, device)
    pool, images = load_pool_images(test_path, pool_path)
    logits = logits_of(model, images.images, images.labels, device)
    frame = pool.copy()
    for name, values in prediction_columns(logits, images.labels).items():
        frame[name] = values
    write_parquet(out_path, frame, provenance({"model": card_path}, inputs=[weights_path]))
