"""The attack stages: inductive noise and inductive occlusion on one (model, method), and the
transfer of a source model's attacked images to a target model.

Every per-model job attacks the pool images *that model* classifies correctly; the tables keep the
images correct for every model of the data set (aggregation), so no job depends on another model.
Outputs are long-format Parquet, one row per (image, attack setting), with the settings in the
metadata; each row holds what regenerates its attacked image (noise seed; occlusion n and r).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ineqbench.attacks.noise import NoiseSettings, apply_noise, budget_count, noise_seed, plan_noise
from ineqbench.attacks.occlusion import (
    COLOURS,
    LOOP_ORDERS,
    Budget,
    OcclusionSettings,
    centres_of,
    coverage,
    occlusion_mask,
    rebuild_occluded,
    search_batched,
)
from ineqbench.attribution.cache import AttributionMaps, load_attributions
from ineqbench.data.prepare import load_pool_images
from ineqbench.device import select_device
from ineqbench.io import write_parquet
from ineqbench.models.checkpoint import load_model
from ineqbench.models.predict_job import logits_of
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttackInputs:
    """One model's correctly classified pool images with their cached attribution maps.

    `maps` is the cache's lazy view of those images' maps: each batch reads its own rows (float32), so
    the maps are never all in memory."""

    model: torch.nn.Module
    pool_index: np.ndarray
    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray
    maps: AttributionMaps | np.ndarray  # (N, C, H, W), rows read as float32
    device: torch.device

    def batches(self, size: int) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.labels), size):
            part = slice(start, start + size)
            x = torch.from_numpy(self.images[part]).float().div_(255.0).to(self.device)
            yield (
                part,
                x,
                torch.from_numpy(self.labels[part]).to(self.device),
                torch.from_numpy(self.maps[part]).to(self.device),
            )


def load_attack_inputs(
    weights_path: str,
    card_path: str,
    attributions_path: str,
    test_path: str,
    pool_path: str,
    *,
    threads: int = 1,
    correct_only: bool = True,
) -> AttackInputs:
    device = select_device(threads)
    model = load_model(weights_path, card_path, device)
    pool, split = load_pool_images(test_path, pool_path)
    maps, arrays, _ = load_attributions(attributions_path)
    if not np.array_equal(arrays["pool_index"], pool["pool_index"].to_numpy()):
        raise ValueError(f"{attributions_path} was computed on another pool than {pool_path}; rerun `attribute`")
    keep = np.ones(len(pool), bool)
    if correct_only:
        keep = logits_of(model, split.images, split.labels, device).argmax(1) == split.labels
        log.info("%d of %d pool images correctly classified: attacking those", keep.sum(), len(keep))
    return AttackInputs(
        model, pool["pool_index"].to_numpy()[keep], split.images[keep], split.labels[keep], maps.select(keep), device
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every batch; none when the model classifies no pool image correctly (logged)."""
    if not frames:
        log.warning("no correctly classified pool image to attack: writing an empty table")
        return pd.DataFrame({"pool_index": pd.Series(dtype="int64")})
    return pd.concat(frames, ignore_index=True)


def _predict(model, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    logits = model(x).float()
    top2 = logits.topk(2, dim=1).values
    return logits.argmax(1).cpu().numpy(), (top2[:, 0] - top2[:, 1]).cpu().numpy()


@torch.no_grad()
def noise_attack(inputs: AttackInputs, settings: NoiseSettings) -> pd.DataFrame:
    """One row per (image, noise type, budget): k, the per-image seed, the new prediction, fooled."""
    n_elements = int(np.prod(inputs.images.shape[1:]))
    budgets = [(str(b), budget_count(b, n_elements)) for b in settings.budgets]
    seeds = np.array([noise_seed(settings.seed, p) for p in inputs.pool_index], dtype=np.int64)
    frames = []
    for part, x, _, maps in inputs.batches(settings.batch_size):
        plan = plan_noise(x, maps, seeds[part], settings, inputs.model.mean, inputs.model.std)
        for noise_type in settings.types:
            for budget, k in budgets:
                prediction, margin = _predict(inputs.model, apply_noise(plan, noise_type, k))
                frames.append(
                    pd.DataFrame(
                        {
                            "pool_index": inputs.pool_index[part],
                            "label": inputs.labels[part],
                            "noise_type": noise_type,
                            "budget": budget,
                            "k": k,
                            "fraction": k / n_elements,
                            "noise_seed": seeds[part],
                            "prediction": prediction,
                            "fooled": prediction != inputs.labels[part],
                            "margin": margin,
                        }
                    )
                )
    return _concat(frames)


def _fills(settings: OcclusionSettings, x: torch.Tensor, model) -> dict[str, torch.Tensor]:
    return {colour: COLOURS.get(colour)(x, model.mean, model.std) for colour in settings.colours}


@torch.no_grad()
def occlusion_attack(
    inputs: AttackInputs, settings: OcclusionSettings, budgets: list[Budget], region_size: int
) -> pd.DataFrame:
    """One row per (image, budget, colour): success, the (n, r) the search stopped at, the occluded
    area fraction there, the prediction, and top-2 margins (at the stop, and the smallest seen)."""
    frames = []
    height, width = inputs.images.shape[2:]
    for budget in budgets:
        candidates = LOOP_ORDERS.get(settings.loop)(budget.regions, budget.radius)
        cand = torch.tensor(candidates, device=inputs.device)
        for part, x, y, maps in inputs.batches(settings.batch_size):
            cover = coverage(centres_of(maps, budget.regions, settings, region_size), height, width)
            for colour, fill in _fills(settings, x, inputs.model).items():
                found = search_batched(
                    inputs.model, x, y, fill, cover, candidates, chunk=settings.chunk, batch_size=settings.batch_size
                )
                n, r = cand[found.stop, 0], cand[found.stop, 1]
                area = occlusion_mask(cover, n, r).float().mean(dim=(1, 2))
                frames.append(
                    pd.DataFrame(
                        {
                            "pool_index": inputs.pool_index[part],
                            "label": inputs.labels[part],
                            "budget": budget.label,
                            "max_regions": budget.regions,
                            "max_radius": budget.radius,
                            "colour": colour,
                            "success": found.success.cpu().numpy(),
                            "n": n.cpu().numpy(),
                            "r": r.cpu().numpy(),
                            "candidates_evaluated": found.stop.cpu().numpy() + 1,
                            "area_fraction": area.cpu().numpy(),
                            "prediction": found.prediction.cpu().numpy(),
                            "margin": found.margin.cpu().numpy(),
                            "min_margin": found.min_margin.cpu().numpy(),
                        }
                    )
                )
        log.info("occlusion %s done", budget.label)
    return _concat(frames)


def _attack_metadata(settings: dict, inputs: list[str], attributions_path: str) -> dict:
    _, _, meta = load_attributions(attributions_path)
    return provenance({**settings, "attribution": meta["settings"]}, seed=settings.get("seed"), inputs=inputs)


def noise_attack_job(
    *,
    weights_path: str,
    card_path: str,
    attributions_path: str,
    test_path: str,
    pool_path: str,
    settings: dict,
    out_path: str,
    threads: int = 1,
) -> None:
    noise = NoiseSettings(**settings)
    inputs = load_attack_inputs(weights_path, card_path, attributions_path, test_path, pool_path, threads=threads)
    frame = noise_attack(inputs, noise)
    write_parquet(
        out_path,
        frame,
        _attack_metadata({"attack": "noise", **noise.as_dict()}, [weights_path, attributions_path], attributions_path),
    )


def occlusion_attack_job(
    *,
    weights_path: str,
    card_path: str,
    attributions_path: str,
    test_path: str,
    pool_path: str,
    settings: dict,
    budgets: list[dict],
    region_size: int,
    out_path: str,
    threads: int = 1,
) -> None:
    occlusion = OcclusionSettings(**settings)
    plan = [Budget(**b) for b in budgets]
    inputs = load_attack_inputs(weights_path, card_path, attributions_path, test_path, pool_path, threads=threads)
    frame = occlusion_attack(inputs, occlusion, plan, region_size)
    meta = {"attack": "occlusion", **occlusion.as_dict(), "budgets": budgets, "region_size": region_size}
    write_parquet(out_path, frame, _attack_metadata(meta, [weights_path, attributions_path], attributions_path))


# ---- transfer: regenerate the source model's attacked images, evaluate them on the target ----


def _standardise(noise_rows: pd.DataFrame, occlusion_rows: pd.DataFrame) -> pd.DataFrame:
    """Both attacks' rows in one frame: attack, setting (noise type or colour), budget, fooled."""
    noise = noise_rows.assign(attack="noise", setting=noise_rows["noise_type"], source_fooled=noise_rows["fooled"])
    occ = occlusion_rows.assign(
        attack="occlusion", setting=occlusion_rows["colour"], source_fooled=occlusion_rows["success"]
    )
    columns = [
        "pool_index",
        "label",
        "attack",
        "setting",
        "budget",
        "source_fooled",
        "prediction",
        "noise_seed",
        "k",
        "max_regions",
        "n",
        "r",
    ]
    return pd.concat([noise, occ], ignore_index=True).reindex(columns=columns)


@torch.no_grad()
def transferred_predictions(
    source: AttackInputs,
    target_model,
    rows: pd.DataFrame,
    noise: NoiseSettings,
    occlusion: OcclusionSettings,
    region_size: int,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Each source row's attacked image, rebuilt from the source maps and the row's parameters, then
    classified by the source (a check that the rebuild is exact) and by the target model."""
    mean, std = source.model.mean, source.model.std
    frames = []
    for part, x, _, maps in source.batches(batch_size):
        pools = source.pool_index[part]
        target_clean, _ = _predict(target_model, x)
        clean_ok = dict(zip(pools, target_clean == source.labels[part]))
        batch_rows = rows[rows["pool_index"].isin(pools)]
        attacked = []
        noise_rows = batch_rows[batch_rows["attack"] == "noise"]
        if len(noise_rows):
            plan = plan_noise(x, maps, [noise_seed(noise.seed, p) for p in pools], noise, mean, std)
            for (noise_type, k), group in noise_rows.groupby(["setting", "k"], sort=False):
                pick = torch.from_numpy(np.searchsorted(pools, group["pool_index"].to_numpy())).to(x.device)
                attacked.append((group, apply_noise(plan, noise_type, int(k))[pick]))
        occlusion_rows = batch_rows[batch_rows["attack"] == "occlusion"]
        for (regions, colour), group in occlusion_rows.groupby(["max_regions", "setting"], sort=False):
            pick = torch.from_numpy(np.searchsorted(pools, group["pool_index"].to_numpy())).to(x.device)
            n, r = (torch.from_numpy(group[c].to_numpy().astype(np.int64)).to(x.device) for c in ("n", "r"))
            attacked.append(
                (
                    group,
                    rebuild_occluded(
                        x[pick], maps[pick], int(regions), colour, n, r, occlusion, region_size, mean, std
                    ),
                )
            )
        for group, images in attacked:
            source_pred, _ = _predict(source.model, images)
            target_pred, target_margin = _predict(target_model, images)
            frames.append(
                group.assign(
                    source_prediction_rebuilt=source_pred,
                    target_prediction=target_pred,
                    target_margin=target_margin,
                    target_fooled=target_pred != group["label"].to_numpy(),
                    target_clean_correct=group["pool_index"].map(clean_ok).to_numpy(bool),
                )
            )
    return _concat(frames)


def transfer_job(
    *,
    source_weights: str,
    source_card: str,
    source_attributions: str,
    source_noise: str,
    source_occlusion: str,
    target_weights: str,
    target_card: str,
    test_path: str,
    pool_path: str,
    noise_settings: dict,
    noise_budget: str,
    occlusion_settings: dict,
    region_size: int,
    out_path: str,
    threads: int = 1,
) -> None:
    noise, occlusion = NoiseSettings(**noise_settings), OcclusionSettings(**occlusion_settings)
    source = load_attack_inputs(source_weights, source_card, source_attributions, test_path, pool_path, threads=threads)
    target = load_model(target_weights, target_card, source.device)
    noise_rows, occlusion_rows = pd.read_parquet(source_noise), pd.read_parquet(source_occlusion)
    if noise_rows.empty and occlusion_rows.empty:
        frame = _concat([])
    else:
        rows = _standardise(noise_rows[noise_rows["budget"] == str(noise_budget)], occlusion_rows)
        frame = transferred_predictions(source, target, rows, noise, occlusion, region_size)
    mismatched = int((frame["source_prediction_rebuilt"] != frame["prediction"]).sum()) if len(frame) else 0
    if mismatched:
        log.warning(
            "%d of %d rebuilt attacked images got another source prediction than recorded", mismatched, len(frame)
        )
    settings = {
        "noise": noise.as_dict(),
        "noise_budget": str(noise_budget),
        "occlusion": occlusion.as_dict(),
        "region_size": region_size,
    }
    write_parquet(
        out_path,
        frame,
        provenance(
            settings, inputs=[source_weights, target_weights, source_attributions, source_noise, source_occlusion]
        ),
    )
