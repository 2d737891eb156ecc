"""Attack families as plug-ins: each is declared in `ineqbench.attacks.settings.ATTACK_FAMILIES` (its
settings, guided or not, its table) and brings here a `FamilyCode`: its run, the rebuild of an attacked
image from one of its stored rows, and what it contributes to Tables 3 (ablation) and 4 (transfer). The
jobs, the transfer and the ablation loop over the registry; none branches on a name.

A family's stored rows are long-format Parquet, one row per (image, setting), holding what regenerates
the attacked image (a seed, a count, an (n, r) pair), so the transfer stage rebuilds attacked images
instead of storing them. Guided families read the model's attribution maps (one job per model and
method); the others do not (one job per model, their rows joining every method's tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ineqbench.attacks.inputs import AttackInputs, load_attack_inputs
from ineqbench.attacks.settings import ATTACK_FAMILIES, AttackContext
from ineqbench.attribution.cache import load_attributions
from ineqbench.io import write_parquet
from ineqbench.provenance import provenance


@dataclass(frozen=True)
class FamilyCode:
    """An attack family's code (its declaration, `ineqbench.attacks.settings.AttackFamily`, names it).

    run(inputs, settings, context) -> rows of every attacked image (one per setting).
    transfer_rows(rows, context) -> the rows the transfer regenerates: pool_index, label, setting, budget,
        source_fooled, prediction and the family's parameters (what `rebuild` reads).
    rebuild(rows, x, maps, pool_index, settings, context, mean, std) -> [(rows, attacked images)]: the
        attacked images of `rows` (all of one batch, whose clean images are `x` and maps `maps`, in the
        order of `pool_index`), in groups that share a setting.
    label(setting) -> a setting's column label in Tables 2 to 4 ("Noise I", "Occ-B", "Occ-B random").
    transfer_label(setting, budget) -> its column in Table 4.
    ablation_rows(rows, context) -> the rows of Table 3 (its budget), with `setting`; `fooled` says success.
    ablation_caption(rows, context) -> what Table 3's caption says of them ("occlusion at N=5, R=10").
    """

    run: Callable[[AttackInputs, Any, AttackContext], pd.DataFrame]
    transfer_rows: Callable[[pd.DataFrame, AttackContext], pd.DataFrame]
    rebuild: Callable[..., list[tuple[pd.DataFrame, torch.Tensor]]]
    label: Callable[[str], str]
    transfer_label: Callable[[str, str], str]
    ablation_rows: Callable[[pd.DataFrame, AttackContext], pd.DataFrame]
    ablation_caption: Callable[[pd.DataFrame, AttackContext], str]


def positions(pool_index: np.ndarray, rows: pd.DataFrame, device: torch.device) -> torch.Tensor:
    """Where each row's image sits in a batch whose images are in the (sorted) order of `pool_index`."""
    return torch.from_numpy(np.searchsorted(pool_index, rows["pool_index"].to_numpy())).to(device)


def run_attack_family(
    family: str,
    *,
    weights_path: str,
    card_path: str,
    attributions_path: str | None,
    test_path: str,
    pool_path: str,
    settings: dict,
    context: dict,
    out_path: str,
    threads: int = 1,
) -> None:
    """Run one family on one model (and, for a guided family, one attribution method's maps)."""
    entry = ATTACK_FAMILIES.get(family)
    parsed = entry.settings(**settings)
    inputs = load_attack_inputs(
        weights_path, card_path, attributions_path if entry.guided else None, test_path, pool_path, threads=threads
    )
    frame = entry.code.run(inputs, parsed, AttackContext(**context))
    recorded = {"attack": family, **parsed.as_dict(), **context}
    sources = [weights_path]
    if entry.guided:
        recorded["attribution"] = load_attributions(attributions_path)[2]["settings"]
        sources.append(attributions_path)
    write_parquet(out_path, frame, provenance(recorded, seed=recorded.get("seed"), inputs=sources))
