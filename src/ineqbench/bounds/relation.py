"""The link between attribution inequality and how far an attribution can be moved (bounds stage).

Spearman's ρ between the global Gini of the real network's attribution and the relative sensitivity
D* / (ε ‖A(x)‖) (and the ε-normalised bound B₁ / (ε ‖A(x)‖)), with a percentile bootstrap over images.
Pooled over ε an image contributes one row per ε, so the bootstrap resamples images (all their rows
together); scipy's p-value then treats rows as independent and is optimistic. Pairs flagged non-finite
by `bounds.tables.best_per_image` are counted (`n_nonfinite`) and left out. Pure functions, no file IO.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ineqbench.bounds.tables import NORM_SYMBOLS
from ineqbench.models.spec import epsilon_label
from ineqbench.reporting.nonfinite import COUNT, finite_values, flagged

RELATIONS = {"relative_sensitivity": "D* / (ε ‖A‖)", "normalised_bound": "B₁ / (ε ‖A‖)"}
GINI_COLUMN = "gini_global"
RELATION_COLUMNS = [
    "quantity",
    "method",
    "norm",
    "epsilon",
    "epsilon_label",
    "model",
    "n",
    "n_images",
    "rho",
    "p_value",
    "ci_low",
    "ci_high",
    "n_boot_used",
    "note",
    COUNT,
]


def _row_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ of each row of (x, y) (resamples × values): Pearson of average ranks; NaN for a row
    whose ranks are constant on either side."""
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (rx * ry).sum(axis=1) / denominator, np.nan)


def _resample_indices(clusters: np.ndarray, rng: np.random.Generator, n_boot: int) -> list[np.ndarray]:
    """Row indices of `n_boot` resamples of whole clusters (images) with replacement, batched into
    arrays of equal-length resamples so the ranks can be computed for many at once."""
    codes, _ = pd.factorize(clusters)
    k = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=k)
    picks = rng.integers(0, k, size=(n_boot, k))
    if (sizes == sizes[0]).all():  # the usual case: every image has the same number of rows
        members = order.reshape(k, sizes[0])
        return [members[picks].reshape(n_boot, -1)]
    members = np.split(order, np.cumsum(sizes)[:-1])
    return [np.concatenate([members[i] for i in pick])[None, :] for pick in picks]


def spearman_interval(x: np.ndarray, y: np.ndarray, clusters: np.ndarray, *, n_boot: int, seed: int) -> dict:
    """Spearman's ρ and p-value (scipy.stats.spearmanr) with a 95% percentile bootstrap interval over
    clusters (images; resampled whole, with replacement, by a seeded Generator). Resamples whose ranks
    are constant are skipped. NaN with a `note` when n < 3 or a side is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    result = {
        "n": len(x),
        "n_images": len(pd.unique(clusters)),
        "rho": np.nan,
        "p_value": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_boot_used": 0,
        "note": "",
    }
    if len(x) < 3:
        return {**result, "note": "n < 3"}
    for name, values in (("Gini", x), ("the deviation measure", y)):
        if np.ptp(values) == 0:
            return {**result, "note": f"{name} is constant"}
    fit = stats.spearmanr(x, y)
    result.update(rho=float(fit.statistic), p_value=float(fit.pvalue))
    rng = np.random.default_rng(seed)
    rhos = np.concatenate(
        [_row_spearman(x[idx], y[idx]) for idx in _resample_indices(np.asarray(clusters), rng, n_boot)]
    )
    rhos = rhos[np.isfinite(rhos)]
    if len(rhos):
        result.update(
            ci_low=float(np.quantile(rhos, 0.025)), ci_high=float(np.quantile(rhos, 0.975)), n_boot_used=len(rhos)
        )
    else:
        result["note"] = "every bootstrap resample had constant ranks"
    return result


def gini_deviation_relation(best: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Spearman's ρ between `gini_global` and each quantity of `RELATIONS`, per (method, norm, ε) and per
    (method, norm) pooled over ε (epsilon_label "all", epsilon NaN); each pooled over models (model
    "all") and per model. Images with a missing value are left out; n counts the pairs used, and
    `n_nonfinite` the pairs flagged non-finite (left out too)."""
    rows = []
    if best.empty:
        return pd.DataFrame(columns=RELATION_COLUMNS)
    best = best.assign(_image=best["model"].astype(str) + "/" + best["pool_index"].astype(str))
    scopes = []
    for (method, norm), part in best.groupby(["method", "norm"], sort=False):
        by_model = [("all", part), *((m, p) for m, p in part.groupby("model", sort=False))]
        for model, frame in by_model:
            for epsilon, group in sorted(frame.groupby("epsilon", sort=False), key=lambda item: item[0]):
                scopes.append((method, norm, float(epsilon), epsilon_label(float(epsilon), norm), model, group))
            if frame["epsilon"].nunique() > 1:  # with one radius the pooled row would repeat it
                scopes.append((method, norm, np.nan, "all", model, frame))
    for quantity in RELATIONS:
        for method, norm, epsilon, label, model, group in scopes:
            broken = flagged(group)
            valid = group[~broken & finite_values(group[GINI_COLUMN]) & finite_values(group[quantity])]
            fit = spearman_interval(
                valid[GINI_COLUMN].to_numpy(),
                valid[quantity].to_numpy(),
                valid["_image"].to_numpy(),
                n_boot=n_boot,
                seed=seed,
            )
            rows.append(
                {
                    "quantity": quantity,
                    "method": method,
                    "norm": norm,
                    "epsilon": epsilon,
                    "epsilon_label": label,
                    "model": model,
                    **fit,
                    COUNT: int(broken.sum()),
                }
            )
    return pd.DataFrame(rows, columns=RELATION_COLUMNS)


def _rho_cell(row: pd.Series) -> str:
    if pd.isna(row["rho"]):
        return f"n/a ({row['note']})"
    interval = "" if pd.isna(row["ci_low"]) else f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    return f"{row['rho']:.2f}{interval}, p = {row['p_value']:.2g}"


def gini_relation_wide(relation: pd.DataFrame, model_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per (method, norm, ε, model scope), one column per quantity: ρ [95% interval], p, and n."""
    if relation.empty:
        return pd.DataFrame({"Gini relation": ["(no data: no image was bounded for any model and method)"]})
    labels = {"all": "all models", **(model_labels or {})}
    frame = relation.assign(
        cell=relation.apply(_rho_cell, axis=1),
        Threat=relation["norm"].map(lambda n: NORM_SYMBOLS.get(n, n)),
        Models=relation["model"].map(lambda m: labels.get(m, m)),
    )
    index = ["method", "Threat", "epsilon_label", "Models"]
    wide = frame.pivot_table(index=index, columns="quantity", values="cell", aggfunc="first")
    wide = wide.reindex(columns=[q for q in RELATIONS if q in wide.columns])
    wide.columns = [f"ρ(Gini, {RELATIONS[q]})" for q in wide.columns]
    n = frame[frame["quantity"] == next(iter(RELATIONS))].set_index(index)["n"]
    wide = wide.join(n.rename("n (pairs)")).reset_index()
    # rows in the order the relation lists its scopes (ε ascending, pooled last; all models first)
    wide = frame[index].drop_duplicates().merge(wide, on=index, how="left")
    return wide.rename(columns={"method": "Method", "epsilon_label": "ε"})


__all__ = ["RELATIONS", "gini_deviation_relation", "gini_relation_wide", "spearman_interval"]
