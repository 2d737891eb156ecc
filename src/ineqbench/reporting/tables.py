"""Paper-style tables: Table 1 (Gini per architecture and ε, global and regional) and model cards.

Statistics. Within one model, mean ± std over the N selected images (as the paper). Across seeds of
the same (architecture, training), images are pooled for mean ± std, and a 95% interval of the mean
comes from a hierarchical bootstrap (resample seeds, then images within each seed), which accounts
for seed-to-seed variation; with one seed no interval is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ineqbench.models.spec import ModelSpec, epsilon_label

SCOPES = {"global": "gini_global", "regional": "gini_regional"}


def training_key(spec: ModelSpec) -> tuple[int, str, float]:
    """Column order: standard first, then by norm and ε."""
    return (0, "", 0.0) if spec.is_standard else (1, spec.norm, spec.epsilon)


def column_label(spec: ModelSpec) -> str:
    if spec.is_standard:
        return "Std. trained"
    prefix = "ε" if spec.norm == "linf" else f"{spec.norm} ε"
    return f"{prefix} = {spec.epsilon_label}"


def hierarchical_bootstrap(groups: list[np.ndarray], n_samples: int, seed: int) -> tuple[float, float]:
    """95% interval of the mean: resample groups (seeds), then values within each chosen group."""
    rng = np.random.default_rng(seed)
    means = np.empty(n_samples)
    for b in range(n_samples):
        picks = rng.integers(0, len(groups), size=len(groups))
        resampled = [groups[i][rng.integers(0, len(groups[i]), size=len(groups[i]))] for i in picks]
        means[b] = np.concatenate(resampled).mean()
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def summarise(scores: pd.DataFrame, specs: dict[str, ModelSpec], *, value_columns: dict[str, str],
              n_boot: int, seed: int) -> pd.DataFrame:
    """Long summary: one row per (transform, scope, arch, training); `scores` has a `model` column."""
    rows = []
    scores = scores.assign(arch=scores["model"].map(lambda m: specs[m].arch),
                           train_label=scores["model"].map(lambda m: column_label(specs[m])))
    for (transform, arch, label), part in scores.groupby(["transform", "arch", "train_label"], sort=False):
        spec = specs[part["model"].iloc[0]]
        for scope, column in value_columns.items():
            valid = part[~part["zero_mass"]] if "zero_mass" in part else part
            groups = [g[column].dropna().to_numpy() for _, g in valid.groupby("model")]
            groups = [g for g in groups if len(g)]
            if not groups:
                continue
            values = np.concatenate(groups)
            lo, hi = hierarchical_bootstrap(groups, n_boot, seed) if len(groups) > 1 else (np.nan, np.nan)
            rows.append({
                "transform": transform, "scope": scope, "arch": arch, "training": label,
                "norm": "none" if spec.is_standard else spec.norm, "epsilon": spec.epsilon,
                "epsilon_label": spec.epsilon_label, "n_seeds": len(groups),
                "n_images": int(len(values) / len(groups)), "n_zero_mass": int(part["zero_mass"].sum()) if "zero_mass" in part else 0,
                "mean": float(values.mean()), "std": float(values.std(ddof=0)), "ci_low": lo, "ci_high": hi,
                "models": ",".join(sorted(part["model"].unique())), "_order": training_key(spec),
            })
    frame = pd.DataFrame(rows)
    return frame.sort_values(["transform", "scope", "arch", "_order"]).drop(columns="_order").reset_index(drop=True)


def _cell(row: pd.Series) -> str:
    text = f"{row['mean']:.2f} ± {row['std']:.2f}"
    if row["n_seeds"] > 1:
        text += f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    return text


def wide_table(summary: pd.DataFrame, transform: str) -> pd.DataFrame:
    """The paper's layout: rows (Inequality, Model), columns Std. trained, ε = ..."""
    part = summary[summary["transform"] == transform].copy()
    # columns: standard first, then by norm and ε, over every architecture of the table
    ranked = part.assign(_std=part["norm"] != "none").sort_values(["_std", "norm", "epsilon"])
    order = list(dict.fromkeys(ranked["training"]))
    part["cell"] = part.apply(_cell, axis=1)
    part["Inequality"] = part["scope"].str.capitalize()
    wide = part.pivot_table(index=["Inequality", "arch"], columns="training", values="cell", aggfunc="first")
    wide = wide.reindex(columns=order)
    wide.columns.name = None
    return wide.reset_index().rename(columns={"arch": "Model"})


def to_markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def to_latex(frame: pd.DataFrame, caption: str) -> str:
    cols = "ll" + "c" * (len(frame.columns) - 2)
    escape = lambda s: str(s).replace("_", r"\_").replace("±", r"$\pm$").replace("ε", r"$\epsilon$")  # noqa: E731
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{escape(caption)}}}", f"\\begin{{tabular}}{{{cols}}}",
             r"\toprule", " & ".join(escape(c) for c in frame.columns) + r" \\", r"\midrule"]
    lines += [" & ".join("" if pd.isna(v) else escape(v) for v in row) + r" \\" for row in frame.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def model_cards_table(cards: dict[str, dict]) -> tuple[pd.DataFrame, list[str]]:
    """Clean and PGD accuracy per model, and gradient-masking warnings: an AT model whose PGD accuracy
    at its own ε is not above the standard model's (same architecture and seed) at that ε."""
    rows = []
    for model_id, card in cards.items():
        spec = ModelSpec(**card["spec"])
        row = {"model": model_id, "arch": spec.arch, "training": column_label(spec), "seed": spec.seed,
               "clean_accuracy": card["clean_accuracy"], "train_seconds": card.get("train_seconds")}
        row.update({f"pgd_acc@{k}": v for k, v in card["robust_accuracy"].items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    warnings = []
    for model_id, card in cards.items():
        spec = ModelSpec(**card["spec"])
        if spec.is_standard or spec.norm != "linf":  # the cards record l∞ PGD accuracy only
            continue
        label = epsilon_label(spec.epsilon)
        standards = [c for c in cards.values() if c["spec"]["arch"] == spec.arch and c["spec"]["epsilon"] == 0
                     and c["spec"]["seed"] == spec.seed]
        for std_card in standards:
            own, base = card["robust_accuracy"].get(label), std_card["robust_accuracy"].get(label)
            if own is None or base is None:
                warnings.append(f"{model_id}: no PGD accuracy at ε = {label} for the comparison; add it to eval_epsilons")
            elif own <= base:
                warnings.append(f"{model_id}: PGD accuracy at ε = {label} is {own:.3f}, not above the standard "
                                f"model's {base:.3f}: possible gradient masking or failed adversarial training")
    return frame, warnings
