"""How an attribution map ranks input elements for the attribution-guided attacks.

`signed`: the signed value, largest first (the released code, and the paper's "a_i >= a_tre"): only
evidence *for* the true class counts as important. `abs`: |A|, evidence for or against.
"""

from __future__ import annotations

import torch

from ineqbench.attacks.settings import RANKINGS

RANKINGS.add("signed", lambda a: a)
RANKINGS.add("abs", torch.abs)


def descending_ranks(scores: torch.Tensor) -> torch.Tensor:
    """Rank (0 = most important) of every element of each row of `scores` (B, n), ties broken by
    position, so the k most important elements of a row are exactly `ranks < k`."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(scores.shape[1], device=scores.device).expand_as(order))
    return ranks
