"""The transfer_attacks rule: a source model's attacked images, rebuilt from the stored rows of every
attack family, classified by a target model (Table 4). Each family's own rule is in its module."""

from __future__ import annotations

import logging

import pandas as pd
import torch

from ineqbench.attacks.inputs import AttackInputs, concat_rows, load_attack_inputs, predict
from ineqbench.attacks.settings import ATTACK_FAMILIES, AttackContext
from ineqbench.io import write_parquet
from ineqbench.models.checkpoint import load_model
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)


# ---- transfer: regenerate the source model's attacked images, evaluate them on the target ----


@torch.no_grad()
def transferred_predictions(
    source: AttackInputs,
    target_model,
    rows: dict[str, pd.DataFrame],
    settings: dict[str, object],
    context: AttackContext,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Each source row's attacked image, rebuilt from the source maps and the row's parameters, then
    classified by the source (a check that the rebuild is exact) and by the target model. `rows` and
    `settings` are by attack family; each family's rows are its `transfer_rows`."""
    mean, std = source.model.mean, source.model.std
    frames = []
    for part, x, _, maps in source.batches(batch_size):
        pools = source.pool_index[part]
        target_clean, _ = predict(target_model, x)
        clean_ok = dict(zip(pools, target_clean == source.labels[part]))
        for family, family_rows in rows.items():
            batch_rows = family_rows[family_rows["pool_index"].isin(pools)]
            if not len(batch_rows):
                continue
            entry = ATTACK_FAMILIES.get(family)
            for group, images in entry.code.rebuild(batch_rows, x, maps, pools, settings[family], context, mean, std):
                source_pred, _ = predict(source.model, images)
                target_pred, target_margin = predict(target_model, images)
                frames.append(
                    group.assign(
                        attack=family,
                        source_prediction_rebuilt=source_pred,
                        target_prediction=target_pred,
                        target_margin=target_margin,
                        target_fooled=target_pred != group["label"].to_numpy(),
                        target_clean_correct=group["pool_index"].map(clean_ok).to_numpy(bool),
                    )
                )
    return concat_rows(frames)


def transfer_attacks(
    *,
    source_weights: str,
    source_card: str,
    source_attributions: str,
    source_rows: dict[str, str],
    target_weights: str,
    target_card: str,
    test_path: str,
    pool_path: str,
    settings: dict[str, dict],
    context: dict,
    out_path: str,
    threads: int = 1,
) -> None:
    """`source_rows` and `settings` by attack family: every family of the experiment is transferred."""
    ctx = AttackContext(**context)
    parsed = {family: ATTACK_FAMILIES.get(family).settings(**settings[family]) for family in source_rows}
    source = load_attack_inputs(source_weights, source_card, source_attributions, test_path, pool_path, threads=threads)
    target = load_model(target_weights, target_card, source.device)
    stored = {family: pd.read_parquet(path) for family, path in source_rows.items()}
    if all(frame.empty for frame in stored.values()):
        frame = concat_rows([])
    else:
        rows = {family: ATTACK_FAMILIES.get(family).code.transfer_rows(frame, ctx) for family, frame in stored.items()}
        frame = transferred_predictions(source, target, rows, parsed, ctx)
    mismatched = int((frame["source_prediction_rebuilt"] != frame["prediction"]).sum()) if len(frame) else 0
    if mismatched:
        log.warning(
            "%d of %d rebuilt attacked images got another source prediction than recorded", mismatched, len(frame)
        )
    recorded = {"settings": {f: p.as_dict() for f, p in parsed.items()}, **context}
    write_parquet(
        out_path,
        frame,
        provenance(recorded, inputs=[source_weights, target_weights, source_attributions, *source_rows.values()]),
    )
