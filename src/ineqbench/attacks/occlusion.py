"""Inductive occlusion attack (Duan et al., Algorithm 1), with a batched search that makes the
sequential algorithm's decisions.

Algorithm 1: rank the regions by their attribution; for n = 1..N (outer) and r = 1..R (inner),
cover the n top regions with square patches of half-size r and stop at the first (n, r) that changes
the prediction. A patch of half-size r around the centre (cy, cx) covers rows [cy - r, cy + r) and
columns [cx - r, cx + r) (side 2r, clipped at the borders), in every channel, as the released code
does; a region centre is the block's (top + s // 2, left + s // 2), so r = s / 2 covers exactly the
block of side s. The released code's variants are options: `radius_outer` loop order, and `pixels`
centres (the N largest pixels of the channel-mean map instead of the N largest regions).

Coverage trick: pixel p lies in the patch of half-size r around c iff r >= d_c(p) with
d_c(p) = max(cy - py, py - cy + 1, cx - px, px - cx + 1). With D[n](p) = min over the n top centres
of d_c(p), candidate (n, r) occludes exactly {p : D[n](p) <= r}: one comparison per candidate,
and D costs N x H x W integers per image whatever R is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from ineqbench.attacks.families import FamilyCode, positions, run_attack_family
from ineqbench.attacks.inputs import AttackInputs, concat_rows, logits_finite
from ineqbench.attacks.settings import CENTRES, COLOURS, LOOP_ORDERS, RANKINGS, AttackContext, OcclusionSettings
from ineqbench.models.logits import predicted_class, top2_margin

log = logging.getLogger(__name__)

# Fill colours in pixel units, (x, mean, std) -> (B, C, 1, 1). `image_min` is the released code's fill:
# the minimum of the normalised image over all channels (near black), mapped back to pixels.


def _constant(value: float):
    return lambda x, mean, std: torch.full((len(x), x.shape[1], 1, 1), value, dtype=x.dtype, device=x.device)


def _image_min(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    z_min = ((x - mean) / std).flatten(1).min(1).values.view(-1, 1, 1, 1)
    return (z_min * std + mean).clamp(0, 1)


COLOURS.add("black", _constant(0.0))
COLOURS.add("grey", _constant(0.5))
COLOURS.add("white", _constant(1.0))
COLOURS.add("image_min", _image_min)

# Candidate order, (N, R) -> [(n, r), ...]
LOOP_ORDERS.add("regions_outer", lambda N, R: [(n, r) for n in range(1, N + 1) for r in range(1, R + 1)])
LOOP_ORDERS.add("radius_outer", lambda N, R: [(n, r) for r in range(1, R + 1) for n in range(1, N + 1)])


def _top(scores: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the `count` largest entries of each row, largest first, ties by position."""
    if count > scores.shape[1]:
        raise ValueError(f"cannot pick {count} centres among {scores.shape[1]} candidates; lower the budget's N")
    return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :count]


def _region_centres(importance: torch.Tensor, count: int, region_size: int) -> torch.Tensor:
    b, h, w = importance.shape
    s = region_size
    blocks = importance.reshape(b, h // s, s, w // s, s).sum(dim=(2, 4)).flatten(1)
    top = _top(blocks, count)
    return torch.stack([(top // (w // s)) * s + s // 2, (top % (w // s)) * s + s // 2], dim=-1)


def _pixel_centres(importance: torch.Tensor, count: int, region_size: int) -> torch.Tensor:
    w = importance.shape[2]
    top = _top(importance.flatten(1), count)
    return torch.stack([top // w, top % w], dim=-1)


# Centre rules: (channel-reduced importance (B, H, W), N, region size) -> (B, N, 2) centres, most important first
CENTRES.add("regions", _region_centres)
CENTRES.add("pixels", _pixel_centres)
# How each rule reduces the channels: block sums of the channel sum; the code's channel mean per pixel
_CHANNEL_REDUCTION = {"regions": lambda a: a.sum(1), "pixels": lambda a: a.mean(1)}


@dataclass(frozen=True)
class Budget:
    regions: int  # N
    radius: int  # R

    @property
    def label(self) -> str:
        return f"N={self.regions}, R={self.radius}"


def centres_of(maps: torch.Tensor, count: int, settings: OcclusionSettings, region_size: int) -> torch.Tensor:
    """(B, count, 2) integer centres (row, col), most important first."""
    importance = _CHANNEL_REDUCTION[settings.centres](RANKINGS.get(settings.ranking)(maps.float()))
    return CENTRES.get(settings.centres)(importance, count, region_size)


def coverage(centres: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """D (B, N, H, W): the smallest half-size at which one of the n + 1 top patches covers each pixel."""
    rows = torch.arange(height, device=centres.device).view(1, 1, height, 1)
    cols = torch.arange(width, device=centres.device).view(1, 1, 1, width)
    cy = centres[..., 0].view(*centres.shape[:2], 1, 1)
    cx = centres[..., 1].view(*centres.shape[:2], 1, 1)
    d = torch.maximum(torch.maximum(cy - rows, rows - cy + 1), torch.maximum(cx - cols, cols - cx + 1))
    return torch.cummin(d, dim=1).values.to(torch.int32)


def occlusion_mask(cover: torch.Tensor, n: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(B, H, W) pixels occluded by candidate (n[i], r[i]) of image i; `cover` is (B, N, H, W)."""
    picked = cover[torch.arange(len(cover), device=cover.device), n - 1]
    return picked <= r.view(-1, 1, 1)


def occlude(x: torch.Tensor, fill: torch.Tensor, cover: torch.Tensor, n: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.where(occlusion_mask(cover, n, r).unsqueeze(1), fill, x)


def rebuild_occluded(
    x: torch.Tensor,
    maps: torch.Tensor,
    regions: int,
    colour: str,
    n: torch.Tensor,
    r: torch.Tensor,
    settings: OcclusionSettings,
    region_size: int,
    mean: torch.Tensor,
    std: torch.Tensor,
) -> torch.Tensor:
    """The occluded images of candidates (n[i], r[i]) under a budget of `regions` centres: what a
    stored occlusion row regenerates, without a copy of the image."""
    cover = coverage(centres_of(maps, regions, settings, region_size), *x.shape[2:])
    return occlude(x, COLOURS.get(colour)(x, mean, std), cover, n, r)


@dataclass
class SearchResult:
    """Per image: the index of the candidate the search stopped at (the first success, else the last
    candidate), whether it fooled the model, the prediction and top-2 margin there, and the smallest
    top-2 margin over every candidate the sequential algorithm would have evaluated."""

    stop: torch.Tensor
    success: torch.Tensor
    prediction: torch.Tensor
    margin: torch.Tensor
    min_margin: torch.Tensor


def _predict(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class and top-2 margin; non-finite logits give `NO_CLASS`, which differs from every label, so
    the search stops there and the row is marked (`logits_finite`) instead of counted as a success."""
    logits = model(x).float()
    return predicted_class(logits), top2_margin(logits)


@torch.no_grad()
def search_sequential(model, x, y, fill, cover, candidates: list[tuple[int, int]]) -> SearchResult:
    """Algorithm 1 verbatim: one image, one candidate, one forward pass at a time. The reference."""
    b = len(x)
    result = SearchResult(
        *(torch.zeros(b, dtype=dt) for dt in (torch.long, torch.bool, torch.long, torch.float32)),
        torch.full((b,), float("inf")),
    )
    for i in range(b):
        for j, (n, r) in enumerate(candidates):
            nr = torch.tensor([[n], [r]], device=x.device)
            image = occlude(x[i : i + 1], fill[i : i + 1], cover[i : i + 1], nr[0], nr[1])
            pred, margin = _predict(model, image)
            result.min_margin[i] = min(result.min_margin[i], margin.item())
            result.stop[i], result.prediction[i], result.margin[i] = j, pred.item(), margin.item()
            if pred.item() != y[i].item():
                result.success[i] = True
                break
    return result


@torch.no_grad()
def search_batched(
    model, x, y, fill, cover, candidates: list[tuple[int, int]], *, chunk: int = 4, batch_size: int = 256
) -> SearchResult:
    """The same decisions as `search_sequential`, evaluated in batches: each round, every image still
    searching contributes its next `chunk` candidates; an image leaves at its first success. The
    candidates evaluated past an image's first success are discarded, so each image's stop is the
    sequential one (up to float round-off of batched kernels: see SearchResult.min_margin)."""
    device = x.device
    b, total = len(x), len(candidates)
    cand = torch.tensor(candidates, dtype=torch.long, device=device)
    result = SearchResult(
        torch.full((b,), total - 1, dtype=torch.long, device=device),
        torch.zeros(b, dtype=torch.bool, device=device),
        torch.zeros(b, dtype=torch.long, device=device),
        torch.zeros(b, device=device),
        torch.full((b,), float("inf"), device=device),
    )
    next_j = torch.zeros(b, dtype=torch.long, device=device)
    active = torch.arange(b, device=device)
    offsets = torch.arange(chunk, device=device)
    while len(active):
        js = next_j[active, None] + offsets  # (A, chunk)
        valid = js < total
        image_of = active[:, None].expand_as(js)[valid]
        candidate = js[valid]
        preds, margins = [], []
        for start in range(0, len(image_of), batch_size):
            i, j = image_of[start : start + batch_size], candidate[start : start + batch_size]
            p, m = _predict(model, occlude(x[i], fill[i], cover[i], cand[j, 0], cand[j, 1]))
            preds.append(p)
            margins.append(m)
        pred = torch.full(js.shape, -1, dtype=torch.long, device=device)
        margin = torch.full(js.shape, float("inf"), device=device)
        pred[valid], margin[valid] = torch.cat(preds), torch.cat(margins)
        fooled = valid & (pred != y[active, None])
        found = fooled.any(1)
        # the stop within this round: the first success, else the last valid candidate
        last_valid = valid.sum(1) - 1
        at = torch.where(found, fooled.int().argmax(1), last_valid)
        seen = offsets[None, :] <= at[:, None]
        round_min = torch.where(seen & valid, margin, torch.full_like(margin, float("inf"))).min(1).values
        result.min_margin[active] = torch.minimum(result.min_margin[active], round_min)
        finished = found | (js[:, -1] >= total - 1)
        rows = torch.arange(len(active), device=device)
        done = active[finished]
        result.stop[done] = js[rows, at][finished]
        result.success[done] = found[finished]
        result.prediction[done] = pred[rows, at][finished]
        result.margin[done] = margin[rows, at][finished]
        next_j[active] += chunk
        active = active[~finished]
    return result


# ---- the search over every budget and colour, whatever chooses the centres ----

# (batch slice, the batch's maps or None, N) -> (B, N, 2) centres, most important first
CentreChoice = Callable[[slice, torch.Tensor | None, int], torch.Tensor]


def fills(colours, x: torch.Tensor, model) -> dict[str, torch.Tensor]:
    return {colour: COLOURS.get(colour)(x, model.mean, model.std) for colour in colours}


@torch.no_grad()
def occlusion_search(
    inputs: AttackInputs, settings: OcclusionSettings, budgets: list[Budget], choose: CentreChoice, what: str
) -> pd.DataFrame:
    """One row per (image, budget, colour): success, the (n, r) the search stopped at, the occluded
    area fraction there, the prediction, top-2 margins (at the stop, and the smallest seen), and whether
    the logits at the stop were finite."""
    frames = []
    height, width = inputs.images.shape[2:]
    for budget in budgets:
        candidates = LOOP_ORDERS.get(settings.loop)(budget.regions, budget.radius)
        cand = torch.tensor(candidates, device=inputs.device)
        for part, x, y, maps in inputs.batches(settings.batch_size):
            cover = coverage(choose(part, maps, budget.regions), height, width)
            for colour, fill in fills(settings.colours, x, inputs.model).items():
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
                            "logits_finite": logits_finite(found.prediction.cpu().numpy()),
                        }
                    )
                )
        log.info("%s %s done", what, budget.label)
    return concat_rows(frames)


def smallest_budget(budgets) -> Budget:
    """The budget of Table 3 (the paper used its smaller one, N=5, R=10)."""
    return min((Budget(**b) for b in budgets), key=lambda b: (b.regions * b.radius, b.regions))


def colour_label(colour: str) -> str:
    """Occ-B, Occ-G, Occ-W as in the paper; other fills keep their name."""
    return f"Occ-{_COLOUR_LETTERS.get(colour, colour)}"


_COLOUR_LETTERS = {"black": "B", "grey": "G", "white": "W"}


def occlusion_transfer_rows(rows: pd.DataFrame, context: AttackContext) -> pd.DataFrame:
    """Table 4 transfers every budget and colour."""
    return rows.assign(setting=rows["colour"], source_fooled=rows["success"])[
        ["pool_index", "label", "setting", "budget", "source_fooled", "prediction", "max_regions", "n", "r"]
    ]


def occlusion_ablation_rows(rows: pd.DataFrame, context: AttackContext) -> pd.DataFrame:
    """Table 3: every colour at the smallest budget."""
    rows = rows[rows["budget"] == smallest_budget(context.budgets).label]
    return rows.assign(setting=rows["colour"], fooled=rows["success"])


# ---- the family: Algorithm 1, centres ranked by the attribution ----


def occlusion_attack(inputs: AttackInputs, settings: OcclusionSettings, context: AttackContext) -> pd.DataFrame:
    def ranked(part: slice, maps: torch.Tensor, count: int) -> torch.Tensor:
        return centres_of(maps, count, settings, context.region_size)

    return occlusion_search(inputs, settings, [Budget(**b) for b in context.budgets], ranked, "occlusion")


def rebuild_by_budget(rows: pd.DataFrame, x: torch.Tensor, pool_index, mean, std, centres) -> list:
    """The occluded images of stored occlusion rows, a group per (budget's N, colour); `centres(pick,
    group, regions)` gives the (B, N, 2) centres of the group's images (`x[pick]`)."""
    out = []
    height, width = x.shape[2:]
    for (regions, colour), group in rows.groupby(["max_regions", "setting"], sort=False):
        pick = positions(pool_index, group, x.device)
        n, r = (torch.from_numpy(group[c].to_numpy().astype("int64")).to(x.device) for c in ("n", "r"))
        cover = coverage(centres(pick, group, int(regions)).to(x.device), height, width)
        images = x[pick]
        out.append((group, occlude(images, COLOURS.get(colour)(images, mean, std), cover, n, r)))
    return out


def _rebuild(rows, x, maps, pool_index, settings: OcclusionSettings, context, mean, std):
    def ranked(pick, group, regions):
        return centres_of(maps[pick], regions, settings, context.region_size)

    return rebuild_by_budget(rows, x, pool_index, mean, std, ranked)


OCCLUSION = FamilyCode(
    run=occlusion_attack,
    transfer_rows=occlusion_transfer_rows,
    rebuild=_rebuild,
    label=colour_label,
    transfer_label=lambda setting, budget: f"{colour_label(setting)} ({budget})",
    ablation_rows=occlusion_ablation_rows,
    ablation_caption=lambda rows, context: f"occlusion at {smallest_budget(context.budgets).label}",
)


def attack_occlusion(**job) -> None:
    """The attack_occlusion rule: this family on one model and method (see `run_attack_family`)."""
    run_attack_family("occlusion", **job)
