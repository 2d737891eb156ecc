"""Aggregation of the attribution-bound stage (Wang & Kong, CVPR 2023): bounds against attacks (the link
between Gini and how far an attribution moves is in `bounds.relation`).

Input: the long rows of the per-model job, one per (model, method, image, norm, ε, attack). Per image
the best attack gives D* (largest Euclidean deviation of the bounded attribution, label kept) and cos*
(lowest cosine); against the image's first-order bound B₁ (a linearisation at x) and practical bound B_p
(σ_max maximised over the ball by projected ascent: an estimated sup) this yields tightness D*/B and
violation flags. Both bounds are estimates, not certificates, so a violation is a finding, never an
error: rates are reported as measured and no row is dropped or clipped.

Non-finite values: an (image, ε) pair whose bounds, attribution norm or Gini are NaN or ±Inf, or whose
attack values are ±Inf, is a broken computation, not a finding. `best_per_image` flags it (`nonfinite`);
the summary and the Gini relation count it (`n_nonfinite`) and leave it out. A NaN attack value alone
is no such case: it means no attack kept the label, and is shown as n/a.
Pure functions, no file IO.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ineqbench.models.spec import ModelSpec, epsilon_label
from ineqbench.reporting.nonfinite import COUNT, FLAG, finite_values, flagged
from ineqbench.reporting.tables import column_label, training_key

IMAGE_KEYS = ["model", "method", "pool_index", "norm", "epsilon"]
SENSITIVITY_ATTACK = "sensitivity_max"  # captum's Monte-Carlo estimate: a lower estimate users know
NORM_SYMBOLS = {"l2": "l2", "linf": "l∞"}

# Columns constant within one (image, norm, ε): carried over from the first non-missing row.
PER_IMAGE = [
    "label",
    "prediction",
    "correct",
    "bound_first_order",
    "bound_practical",
    "cosine_bound_first_order",
    "cosine_bound_practical",
    "gini_global",
    "gini_regional",
    "attribution_norm",
    "sigma_max",
    "sigma_max_practical",
    "sigma_iterations",
    "sigma_converged",
    "sigma_method",
    "column_norm_sum",
    "surrogate",
    "surrogate_beta",
    "dimension",
]


@dataclass(frozen=True)
class Check:
    """One violation test: `value` beyond `bound` (above it, or below it for a cosine lower bound).
    The flag column of `best_per_image` is `name`; the summary has `{name}_rate` and `{name}_count`."""

    name: str
    value: str
    bound: str
    label: str
    below: bool = False


# A table of checks rather than branches: adding a comparison is one line here, and every table,
# summary and note picks it up.
CHECKS = (
    Check("violates_first_order", "deviation", "bound_first_order", "D* > B₁"),
    Check("violates_practical", "deviation", "bound_practical", "D* > B_p"),
    Check("real_violates_first_order", "real_deviation", "bound_first_order", "real-net D* > B₁"),
    Check("real_violates_practical", "real_deviation", "bound_practical", "real-net D* > B_p"),
    Check("cosine_violates_first_order", "cosine", "cosine_bound_first_order", "cos* < cos bound₁", below=True),
    Check("cosine_violates_practical", "cosine", "cosine_bound_practical", "cos* < cos bound_p", below=True),
    Check("sensitivity_violates_first_order", "sensitivity_deviation", "bound_first_order", "sensitivity_max > B₁"),
)
TIGHTNESS = {"first_order": "bound_first_order", "practical": "bound_practical"}
# Must be finite for an (image, ε) pair to count; a column missing from every row (an older file) is not
# required. The attack values may be NaN (no attack kept the label) but never ±Inf.
REQUIRED_FINITE = ["bound_first_order", "bound_practical", "attribution_norm", "gini_global"]
NEVER_INFINITE = ["deviation", "cosine", "real_deviation", "real_cosine", "sensitivity_deviation"]

BEST_COLUMNS = [
    *IMAGE_KEYS,
    "deviation",
    "best_attack",
    "cosine",
    "best_cosine_attack",
    "real_deviation",
    "real_cosine",
    "sensitivity_deviation",
    *PER_IMAGE,
    "relative_sensitivity",
    "normalised_bound",
    *(f"tightness_{k}" for k in TIGHTNESS),
    *(c.name for c in CHECKS),
    FLAG,
]


def threat_label(norm: str, epsilon: float) -> str:
    """`l2, ε = 0.5` or `l∞, ε = 8/255`: how tables and panels name a threat model."""
    return f"{NORM_SYMBOLS.get(norm, norm)}, ε = {epsilon_label(epsilon, norm)}"


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 or missing (no meaningful scale)."""
    denominator = denominator.astype(float)
    return numerator.astype(float) / denominator.where(denominator > 0)


def _flag(value: pd.Series, bound: pd.Series, below: bool) -> pd.Series:
    """Strict comparison (a bound met with equality holds); NA where either side is missing, so absent
    attacks (e.g. no sensitivity_max) are not counted as holding."""
    value, bound = value.astype(float), bound.astype(float)
    beaten = value < bound if below else value > bound
    return beaten.astype("boolean").mask(value.isna() | bound.isna())


def best_per_image(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, method, pool_index, norm, epsilon): the best attack's deviation D*
    (`deviation`, `best_attack`; ties go to the first attack in row order), the lowest cosine cos*
    (`cosine`, `best_cosine_attack`), the same on the real network, sensitivity_max's deviation on its own
    (NaN without it), the image's bounds and scores, relative sensitivity D* / (ε ‖A‖), the ε-normalised
    bound B₁ / (ε ‖A‖), tightness D*/B and one flag per entry of `CHECKS`."""
    if rows.empty:
        return pd.DataFrame(columns=BEST_COLUMNS)
    rows = rows.reset_index(drop=True)  # index labels = row order, so idxmax/idxmin break ties by row order
    grouped = rows.groupby(IMAGE_KEYS, sort=False)
    # fill so an all-NaN group still has an argmax; its D* is read back from the original column (NaN)
    keys = [rows[k] for k in IMAGE_KEYS]
    at_max = rows["deviation"].astype(float).fillna(-np.inf).groupby(keys, sort=False).idxmax()
    at_min = rows["cosine"].astype(float).fillna(np.inf).groupby(keys, sort=False).idxmin()
    best = rows.loc[at_max.to_numpy(), IMAGE_KEYS].reset_index(drop=True)
    best["deviation"] = rows.loc[at_max.to_numpy(), "deviation"].to_numpy()
    best["best_attack"] = rows.loc[at_max.to_numpy(), "attack"].to_numpy()
    best["cosine"] = rows.loc[at_min.to_numpy(), "cosine"].to_numpy()
    best["best_cosine_attack"] = rows.loc[at_min.to_numpy(), "attack"].to_numpy()
    best.loc[best["deviation"].isna(), "best_attack"] = None
    best.loc[best["cosine"].isna(), "best_cosine_attack"] = None
    extremes = grouped.agg(real_deviation=("real_deviation", "max"), real_cosine=("real_cosine", "min"))
    sensitivity = rows[rows["attack"] == SENSITIVITY_ATTACK].groupby(IMAGE_KEYS, sort=False)["deviation"].max()
    present = [c for c in PER_IMAGE if c in rows]
    best = (
        best.merge(extremes.reset_index(), on=IMAGE_KEYS)
        .merge(sensitivity.rename("sensitivity_deviation").reset_index(), on=IMAGE_KEYS, how="left")
        .merge(grouped[present].first().reset_index(), on=IMAGE_KEYS)
    )
    for column in set(PER_IMAGE) - set(present):  # an older or partial file: the column reads as missing
        best[column] = np.nan
    scale = best["epsilon"].astype(float) * best["attribution_norm"].astype(float)
    best["relative_sensitivity"] = _ratio(best["deviation"], scale)
    best["normalised_bound"] = _ratio(best["bound_first_order"], scale)
    for name, bound in TIGHTNESS.items():
        best[f"tightness_{name}"] = _ratio(best["deviation"], best[bound])
    for check in CHECKS:
        best[check.name] = _flag(best[check.value], best[check.bound], check.below)
    best[FLAG] = nonfinite_pairs(best)
    return best[BEST_COLUMNS]


def nonfinite_pairs(best: pd.DataFrame) -> pd.Series:
    """(image, ε) rows with a non-finite required value or an infinite attack value."""
    bad = pd.Series(False, index=best.index)
    for column in REQUIRED_FINITE:
        if best[column].notna().any():
            bad |= ~finite_values(best[column])
    for column in NEVER_INFINITE:
        bad |= np.isinf(pd.to_numeric(best[column], errors="coerce").astype(float))
    return bad


def _most_frequent(values: pd.Series) -> str | None:
    """The commonest value; ties go to the one seen first (Counter.most_common is stable)."""
    counts = Counter(values.dropna())
    return counts.most_common(1)[0][0] if counts else None


SUMMARY_KEYS = ["method", "model", "norm", "epsilon"]


def bound_summary(best: pd.DataFrame, specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """One row per (method, model, norm, epsilon): means of the bounds and of D*, the commonest best
    attack, every violation rate (with its count), tightness mean/median/max per bound, mean cos* and
    cosine bounds, and the share of images whose σ_max iteration converged; (image, ε) pairs flagged
    non-finite are left out of all of it and counted in `n_nonfinite`. Rows ordered by method and
    norm (first seen), ε, architecture, then training (standard first) and seed."""
    rows = []
    for (method, model, norm, epsilon), everything in best.groupby(SUMMARY_KEYS, sort=False):
        spec = specs[model]
        broken = flagged(everything)
        part = everything[~broken]
        row = {
            "method": method,
            "model": model,
            "arch": spec.arch,
            "training": column_label(spec),
            "seed": spec.seed,
            "norm": norm,
            "epsilon": float(epsilon),
            "threat": threat_label(norm, float(epsilon)),
            "n_images": int(part["pool_index"].nunique()),
            "mean_bound_first_order": part["bound_first_order"].mean(),
            "mean_bound_practical": part["bound_practical"].mean(),
            "mean_deviation": part["deviation"].mean(),
            "mean_real_deviation": part["real_deviation"].mean(),
            "mean_sensitivity_deviation": part["sensitivity_deviation"].mean(),
            "most_frequent_best_attack": _most_frequent(part["best_attack"]),
        }
        for check in CHECKS:
            flags = part[check.name].dropna().astype(bool)
            row[f"{check.name}_count"] = int(flags.sum())
            row[f"{check.name}_n"] = len(flags)
            row[f"{check.name}_rate"] = flags.mean() if len(flags) else np.nan
        for name in TIGHTNESS:
            tightness = part[f"tightness_{name}"]
            row.update(
                {
                    f"tightness_{name}_mean": tightness.mean(),
                    f"tightness_{name}_median": tightness.median(),
                    f"tightness_{name}_max": tightness.max(),
                }
            )
        converged = part["sigma_converged"].dropna().astype(bool)
        row.update(
            {
                "mean_cosine": part["cosine"].mean(),
                "mean_cosine_bound_first_order": part["cosine_bound_first_order"].mean(),
                "mean_cosine_bound_practical": part["cosine_bound_practical"].mean(),
                "sigma_converged_fraction": converged.mean() if len(converged) else np.nan,
                "sigma_converged_n": len(converged),
                COUNT: int(broken.sum()),
                "_order": (training_key(spec), spec.seed),
            }
        )
        rows.append(row)
    if not rows:
        return pd.DataFrame(
            columns=["method", "model", "arch", "training", "seed", "norm", "epsilon", "threat", "n_images", COUNT]
        )
    frame = pd.DataFrame(rows)
    ranks = {col: {v: i for i, v in enumerate(dict.fromkeys(frame[col]))} for col in ("method", "norm")}
    frame = frame.assign(_method=frame["method"].map(ranks["method"]), _norm=frame["norm"].map(ranks["norm"]))
    frame = frame.sort_values(["_method", "_norm", "epsilon", "arch", "_order", "model"], kind="stable")
    return frame.drop(columns=["_method", "_norm", "_order"]).reset_index(drop=True)


def _rate_cell(row: pd.Series, name: str) -> str:
    n = row[f"{name}_n"]
    return "n/a" if n == 0 else f"{100 * row[f'{name}_rate']:.1f}% ({row[f'{name}_count']}/{n})"


def _n_cell(row: pd.Series) -> int | str:
    """The N averaged, with the pairs left out as non-finite when there are any."""
    left_out = row.get(COUNT, 0)
    return row["n_images"] if not left_out else f"{row['n_images']} ({left_out} non-finite left out)"


def _triple(row: pd.Series, name: str) -> str:
    values = [row[f"tightness_{name}_{s}"] for s in ("mean", "median", "max")]
    return " / ".join("n/a" if pd.isna(v) else f"{v:.2f}" for v in values)


def bounds_wide(summary: pd.DataFrame) -> pd.DataFrame:
    """The markdown/LaTeX layout: one row per (method, threat, model), cells formatted, with a Seed column
    when the models have several seeds; with no rows, a one-cell table that says there is nothing to show."""
    if summary.empty:
        return pd.DataFrame({"Attribution bounds": ["(no data: no image was bounded for any model and method)"]})
    cells = {
        "Method": summary["method"],
        "Threat": summary["threat"],
        "Model": summary["arch"],
        "Training": summary["training"],
        # a run of several training seeds has one row per seed of each model: say which
        **({"Seed": summary["seed"]} if summary["seed"].nunique() > 1 else {}),
        "N": summary.apply(_n_cell, axis=1),
        "B₁ / B_p (mean)": [
            f"{a:.3g} / {b:.3g}" for a, b in zip(summary["mean_bound_first_order"], summary["mean_bound_practical"])
        ],
        "D* (mean; commonest best attack)": [
            f"{d:.3g} ({a})" for d, a in zip(summary["mean_deviation"], summary["most_frequent_best_attack"])
        ],
        "D*/B₁ mean / median / max": summary.apply(_triple, axis=1, name="first_order"),
        "D*/B_p mean / median / max": summary.apply(_triple, axis=1, name="practical"),
        **{check.label: summary.apply(_rate_cell, axis=1, name=check.name) for check in CHECKS},
        "cos* / cos bound₁ (mean)": [
            f"{c:.3f} / {b:.3f}" for c, b in zip(summary["mean_cosine"], summary["mean_cosine_bound_first_order"])
        ],
        "σ converged": [
            "n/a" if pd.isna(f) else f"{100 * f:.0f}% of {n}"
            for f, n in zip(summary["sigma_converged_fraction"], summary["sigma_converged_n"])
        ],
    }
    return pd.DataFrame(cells).reset_index(drop=True)


def violation_notes(summary: pd.DataFrame) -> str:
    """Markdown bullets: per (method, norm), every violation rate over all models, images and ε."""
    if summary.empty:
        return "No violation rate to report: no image was bounded.\n"
    lines = [
        "Violation rates (share of (image, ε) pairs on which an attack went beyond the bound; a valid "
        "upper bound shows 0%, so any other value is a finding about the bound, reported as measured):",
        "",
    ]
    for (method, norm), part in summary.groupby(["method", "norm"], sort=False):
        cells = []
        for check in CHECKS:
            count, n = int(part[f"{check.name}_count"].sum()), int(part[f"{check.name}_n"].sum())
            cells.append(f"{check.label}: " + ("n/a" if n == 0 else f"{count}/{n} ({100 * count / n:.1f}%)"))
        lines.append(f"- {method}, {NORM_SYMBOLS.get(norm, norm)}: " + "; ".join(cells))
    return "\n".join(lines) + "\n"


__all__ = [
    "CHECKS",
    "Check",
    "best_per_image",
    "bound_summary",
    "bounds_wide",
    "nonfinite_pairs",
    "threat_label",
    "violation_notes",
]
