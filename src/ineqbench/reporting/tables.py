"""Paper-style tables: Table 1 (Gini per architecture and ε, global and regional) and model cards.

Statistics. Within one model, mean ± std over the N selected images (as the paper). Across seeds of
the same (architecture, training), images are pooled for mean ± std, and a 95% interval of the mean
comes from a hierarchical bootstrap (resample seeds, then images within each seed), which accounts
for seed-to-seed variation; with one seed no interval is shown.

Left out, and counted: zero-mass maps (`n_zero_mass`) and non-finite values (`n_nonfinite`, see
`reporting.nonfinite`): rows a stage flagged and NaN or ±Inf values. `n_images` is the N averaged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ineqbench.models.spec import ModelSpec, epsilon_label
from ineqbench.reporting.nonfinite import COUNT, counts_by, n_suffix, nonfinite_rows

SCOPES = {"global": "gini_global", "regional": "gini_regional"}


def training_key(spec: ModelSpec) -> tuple[int, str, float, str]:
    """Column order: standard first, then by norm and ε; a variant right after its plain column."""
    return (0, "", 0.0, spec.variant) if spec.is_standard else (1, spec.norm, spec.epsilon, spec.variant)


def column_label(spec: ModelSpec) -> str:
    """ "Std. trained", "ε = 4/255", "l2 ε = 0.5"; a variant's after a comma ("ε = 4/255, cutout"), so
    tables key it apart from the plain model of its threat."""
    if spec.is_standard:
        threat = "Std. trained"
    else:
        prefix = "ε" if spec.norm == "linf" else f"{spec.norm} ε"
        threat = f"{prefix} = {spec.epsilon_label}"
    return f"{threat}, {spec.variant}" if spec.variant else threat


def hierarchical_bootstrap(groups: list[np.ndarray], n_samples: int, seed: int) -> tuple[float, float]:
    """95% interval of the mean: resample groups (seeds), then values within each chosen group."""
    rng = np.random.default_rng(seed)
    means = np.empty(n_samples)
    for b in range(n_samples):
        picks = rng.integers(0, len(groups), size=len(groups))
        resampled = [groups[i][rng.integers(0, len(groups[i]), size=len(groups[i]))] for i in picks]
        means[b] = np.concatenate(resampled).mean()
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def without_zero_mass(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows whose Gini is defined by mass: an all-zero map is counted apart (`n_zero_mass`)."""
    return scores[~scores["zero_mass"].astype(bool)] if "zero_mass" in scores else scores


def measured(scores: pd.DataFrame, column: str) -> bool:
    """Whether the data holds `column` at all: a measure missing everywhere (mass_in_mask on data without
    masks) makes no row, while a value missing here and there is a non-finite value, counted."""
    return column in scores and bool(scores[column].notna().any())


def nonfinite_by_model(scores: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """Per model, the rows `summarise` leaves out of the means of `columns` as non-finite (the caption's
    count); zero-mass rows have their own count."""
    counted = without_zero_mass(scores)
    present = [c for c in columns if measured(counted, c)]
    return counts_by(counted, nonfinite_rows(counted, present))


def _statistics(groups: list[np.ndarray], n_boot: int, seed: int, with_interval: bool) -> dict:
    """N, mean, std and the bootstrap interval over the pooled groups; NaN when nothing is left."""
    if not groups:
        nan = float("nan")
        return {"n_seeds": 0, "n_images": 0, "mean": nan, "std": nan, "ci_low": nan, "ci_high": nan}
    values = np.concatenate(groups)
    lo, hi = hierarchical_bootstrap(groups, n_boot, seed) if with_interval else (np.nan, np.nan)
    return {
        "n_seeds": len(groups),
        "n_images": round(len(values) / len(groups)),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=0)),
        "ci_low": lo,
        "ci_high": hi,
    }


def summarise(
    scores: pd.DataFrame,
    specs: dict[str, ModelSpec],
    *,
    value_columns: dict[str, str],
    n_boot: int,
    seed: int,
    by: tuple[str, ...] = ("transform",),
    interval_for_one_seed: bool = False,
) -> pd.DataFrame:
    """Long summary: one row per (*by, scope, arch, training); `scores` has a `model` column.
    With one seed the interval is left out, unless `interval_for_one_seed` (then it resamples images).
    Zero-mass rows and non-finite values are left out and counted; a cell with nothing left reads NaN."""
    rows = []
    scores = scores.assign(
        arch=scores["model"].map(lambda m: specs[m].arch),
        train_label=scores["model"].map(lambda m: column_label(specs[m])),
    )
    scopes = {scope: column for scope, column in value_columns.items() if measured(scores, column)}
    for keys, part in scores.groupby([*by, "arch", "train_label"], sort=False):
        *key_values, arch, label = keys
        spec = specs[part["model"].iloc[0]]
        counted = without_zero_mass(part)
        for scope, column in scopes.items():
            bad = nonfinite_rows(counted, [column])
            groups = [g[column].to_numpy(float) for _, g in counted[~bad].groupby("model")]
            if not groups and not bad.any():  # nothing measured here and nothing to report
                continue
            stats = _statistics(groups, n_boot, seed, with_interval=len(groups) > 1 or interval_for_one_seed)
            rows.append(
                {
                    **dict(zip(by, key_values)),
                    "scope": scope,
                    "arch": arch,
                    "training": label,
                    "norm": "none" if spec.is_standard else spec.norm,
                    "epsilon": spec.epsilon,
                    "epsilon_label": spec.epsilon_label,
                    "variant": spec.variant,
                    "n_seeds": stats["n_seeds"],
                    "n_images": stats["n_images"],
                    "n_zero_mass": len(part) - len(counted),
                    **{k: stats[k] for k in ("mean", "std", "ci_low", "ci_high")},
                    "models": ",".join(sorted(part["model"].unique())),
                    COUNT: int(bad.sum()),
                    "_order": training_key(spec),
                }
            )
    # grouping keys and scopes keep their order of appearance (config order), then arch and training
    ranks = {col: {v: i for i, v in enumerate(dict.fromkeys(scores[col]))} for col in by}
    ranks["scope"] = {name: i for i, name in enumerate(value_columns)}
    frame = pd.DataFrame(rows)
    keys = [frame[col].map(rank).rename(f"_{col}") for col, rank in ranks.items()]
    frame = pd.concat([frame, *keys], axis=1)
    frame = frame.sort_values([*(k.name for k in keys), "arch", "_order"], kind="stable")
    return frame.drop(columns=["_order", *(k.name for k in keys)]).reset_index(drop=True)


def _cell(row: pd.Series) -> str:
    if row["n_images"] == 0:
        return "n/a" + n_suffix(row)
    text = f"{row['mean']:.2f} ± {row['std']:.2f}"
    if row["n_seeds"] > 1:
        text += f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
    return text + n_suffix(row)


def on_the_ladder(summary: pd.DataFrame) -> pd.Series:
    """Rows of the ε ladder's models (plain, standard or l∞): the paper's columns. The comparison
    families' models (l2, variants) stay in the long CSV and have tables of their own (`family_*`)."""
    plain = summary["variant"].fillna("") == "" if "variant" in summary else pd.Series(True, index=summary.index)
    return plain & summary["norm"].isin(["none", "linf"])


def by_training(part: pd.DataFrame, rows: dict[str, str], cell) -> pd.DataFrame:
    """Pivot a summary into the paper's layout: one column per training of the ε ladder (standard first,
    then by ε, over every architecture of the table), rows `rows` (summary column -> shown name), in the
    order they first appear; `cell(row)` formats a value."""
    part = part[on_the_ladder(part)]
    ranked = part.assign(_std=part["norm"] != "none", _variant=part.get("variant", ""))
    ranked = ranked.sort_values(["_std", "norm", "epsilon", "_variant"], kind="stable")
    order = list(dict.fromkeys(ranked["training"]))
    part = part.assign(cell=part.apply(cell, axis=1))
    index = list(rows)
    first_seen = part[index].drop_duplicates()
    wide = part.pivot_table(index=index, columns="training", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(
        index=pd.MultiIndex.from_frame(first_seen) if len(index) > 1 else first_seen[index[0]], columns=order
    )
    wide.columns.name = None
    return wide.reset_index().rename(columns=rows)


def wide_table(summary: pd.DataFrame, transform: str) -> pd.DataFrame:
    """Table 1's layout: rows (Inequality, Model), columns Std. trained, ε = ..."""
    part = summary[summary["transform"] == transform]
    part = part.assign(Inequality=part["scope"].str.capitalize())
    return by_training(part, {"Inequality": "Inequality", "arch": "Model"}, _cell)


def to_markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def to_latex(frame: pd.DataFrame, caption: str, label_columns: int = 2) -> str:
    cols = "l" * label_columns + "c" * (len(frame.columns) - label_columns)
    escape = lambda s: str(s).replace("_", r"\_").replace("±", r"$\pm$").replace("ε", r"$\epsilon$")  # noqa: E731
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        f"\\caption{{{escape(caption)}}}",
        f"\\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(escape(c) for c in frame.columns) + r" \\",
        r"\midrule",
    ]
    lines += [
        " & ".join("" if pd.isna(v) else escape(v) for v in row) + r" \\" for row in frame.itertuples(index=False)
    ]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


NORM_NAMES = {"linf": "l∞", "l2": "l2"}


def model_cards_table(cards: dict[str, dict]) -> tuple[pd.DataFrame, list[str]]:
    """Clean, PGD and AutoAttack accuracy per model (columns `pgd_linf@2/255`, `pgd_l2@0.5`, `aa_linf@4/255`;
    Table 5), the measured sparsity, and gradient-masking warnings: an adversarially trained model whose
    PGD or AutoAttack accuracy at its own norm and ε is not above the plain standard model's (same
    architecture and seed) there."""
    rows = []
    for model_id, card in cards.items():
        spec = ModelSpec(**card["spec"])
        row = {
            "model": model_id,
            "arch": spec.arch,
            "training": column_label(spec),
            "variant": spec.variant,
            "seed": spec.seed,
            "clean_accuracy": card["clean_accuracy"],
        }  # no wall time: a table holds what the models measure, so two runs give the same bytes
        for norm, accuracies in card["robust_accuracy"].items():
            row.update({f"pgd_{norm}@{k}": v for k, v in accuracies.items()})
        for norm, by_radius in card.get("autoattack", {}).get("accuracy", {}).items():
            row.update({f"aa_{norm}@{k}": v["robust"] for k, v in by_radius.items()})
        if "sparsity" in card:
            row.update({f"sparsity_{part}": share for part, share in card["sparsity"].items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    warnings = []
    for model_id, card in cards.items():
        spec = ModelSpec(**card["spec"])
        if spec.is_standard:
            continue
        label = epsilon_label(spec.epsilon, spec.norm)
        standards = [
            c
            for c in cards.values()
            if (s := ModelSpec(**c["spec"])).arch == spec.arch and s.is_standard and s.is_plain and s.seed == spec.seed
        ]
        where = f"{NORM_NAMES.get(spec.norm, spec.norm)} ε = {label}"
        key = "eval_epsilons" if spec.norm == "linf" else f"eval_{spec.norm}_epsilons"
        for std_card in standards:
            for attack, accuracy in ATTACK_ACCURACIES.items():
                own, base = accuracy(card, spec.norm, label), accuracy(std_card, spec.norm, label)
                if own is None and base is None and attack == "AutoAttack":
                    continue  # not run on either (autoattack/n_images: 0)
                if own is None or base is None:
                    warnings.append(f"{model_id}: no {attack} accuracy at {where} for the comparison; add it to {key}")
                elif own <= base:
                    warnings.append(
                        f"{model_id}: {attack} accuracy at {where} is {own:.3f}, not above the standard "
                        f"model's {base:.3f}: possible gradient masking or failed adversarial training"
                    )
    return frame, warnings


# The robust accuracies a card holds, by attack: (card, norm, ε label) -> accuracy or None.
ATTACK_ACCURACIES = {
    "PGD": lambda card, norm, label: card["robust_accuracy"].get(norm, {}).get(label),
    "AutoAttack": lambda card, norm, label: (
        card.get("autoattack", {}).get("accuracy", {}).get(norm, {}).get(label, {}).get("robust")
    ),
}
