"""What a row of logits predicts, with non-finite logits counted as no prediction at all.

`argmax` over a row holding NaN returns the NaN's position (class 0 when the first logit is NaN), so
a broken forward pass would count as correct on that class's images. A row with any NaN or ±Inf
predicts `NO_CLASS` instead: it is incorrect for every label, and `prediction == NO_CLASS` marks it in
every output that stores a prediction.
"""

from __future__ import annotations

import torch

from ineqbench.models.no_class import NO_CLASS


def finite_rows(logits: torch.Tensor) -> torch.Tensor:
    """(B,) bool: True where every logit of the row is finite."""
    return torch.isfinite(logits).all(dim=1)


def predicted_class(logits: torch.Tensor) -> torch.Tensor:
    """(B,) long: the top-1 class of each row, `NO_CLASS` where a logit is NaN or ±Inf."""
    return torch.where(finite_rows(logits), logits.argmax(dim=1), torch.full_like(logits[:, 0], NO_CLASS).long())


def top2_margin(logits: torch.Tensor) -> torch.Tensor:
    """(B,) top-1 minus top-2 logit; NaN where a logit is non-finite (no decision to be fragile)."""
    top2 = logits.topk(2, dim=1).values
    margin = top2[:, 0] - top2[:, 1]
    return torch.where(finite_rows(logits), margin, torch.full_like(margin, float("nan")))
