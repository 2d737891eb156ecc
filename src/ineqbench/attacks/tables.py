"""Paper-style tables of the attacks: Figure 3's error rates (noise), Table 2 (occlusion), Table 3
(method ablation) and Table 4 (transferability).

An error rate is the share of the selected images (correct for every model of the data set) that
the attack fools. Per model it is a proportion over N images; across seeds of one (architecture,
training) the images are pooled and the 95% interval comes from the hierarchical bootstrap of
`tables.summarise` (with one seed it resamples images).

A row whose logits were non-finite (`logits_finite = False`) is no attack outcome: it is counted per
model in `n_nonfinite` and left out of the rate, and a cell that lost images shows its N.
"""

from __future__ import annotations

import pandas as pd

from ineqbench.attacks.settings import ATTACK_FAMILIES, noise_label
from ineqbench.models.no_class import NO_CLASS
from ineqbench.models.spec import ModelSpec
from ineqbench.reporting.nonfinite import COUNT, FLAG, counts_by, flagged, n_suffix
from ineqbench.reporting.tables import by_training, column_label, summarise


def percent(row: pd.Series) -> str:
    if row["n_images"] == 0:
        return "n/a" + n_suffix(row)
    text = f"{100 * row['mean']:.1f}%"
    if row["n_seeds"] > 1:
        text += f" [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"
    return text + n_suffix(row)


def flag_nonfinite_logits(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with `nonfinite` set where the logits were not finite; rows of a file made before the
    `logits_finite` column count as finite."""
    if "logits_finite" not in rows:
        return rows
    return rows.assign(**{FLAG: flagged(rows) | ~rows["logits_finite"].astype(bool)})


def nonfinite_by_model(rows: pd.DataFrame) -> dict[str, int]:
    """Attack rows with non-finite logits, per model (for the caption)."""
    return counts_by(rows, flagged(flag_nonfinite_logits(rows)))


def selected(frames: dict[str, pd.DataFrame], chosen: set[int], what: str) -> pd.DataFrame:
    """Rows of the chosen images from each model's frame, with a `model` column. Every chosen image
    is correct for every model, so each model's attack frame must hold it."""
    parts = []
    for model, frame in frames.items():
        missing = chosen - set(frame["pool_index"])
        if missing:
            raise ValueError(
                f"{what} of {model} lacks {len(missing)} selected images (e.g. pool index "
                f"{min(missing)}); it was computed on another pool or selection: rerun it"
            )
        parts.append(frame[frame["pool_index"].isin(chosen)].assign(model=model))
    return pd.concat(parts, ignore_index=True)


def rate_summary(
    rows: pd.DataFrame, specs: dict[str, ModelSpec], value: str, by: tuple[str, ...], *, n_boot: int, seed: int
) -> pd.DataFrame:
    rows = flag_nonfinite_logits(rows).assign(_rate=rows[value].astype(float))
    summary = summarise(
        rows, specs, value_columns={"error_rate": "_rate"}, n_boot=n_boot, seed=seed, by=by, interval_for_one_seed=True
    )
    return summary.drop(columns=["scope", "n_zero_mass"])


def noise_table(noise: pd.DataFrame, specs: dict[str, ModelSpec], *, n_boot: int, seed: int) -> pd.DataFrame:
    """Error rate per (noise type, k, architecture, training): the numbers behind Figure 3."""
    noise = noise.assign(fraction_percent=100 * noise["fraction"])
    return rate_summary(noise, specs, "fooled", ("noise_type", "k", "fraction_percent"), n_boot=n_boot, seed=seed)


def noise_wide(summary: pd.DataFrame) -> pd.DataFrame:
    summary = summary.assign(
        Noise=summary["noise_type"].map(noise_label),
        k=summary.apply(lambda r: f"{r['k']} ({r['fraction_percent']:.2f}%)", axis=1),
    )
    return by_training(summary, {"Noise": "Noise", "k": "k (share of C×H×W)", "arch": "Model"}, percent)


def occlusion_table(occlusion: pd.DataFrame, specs: dict[str, ModelSpec], *, n_boot: int, seed: int) -> pd.DataFrame:
    """Error rate per (budget, colour, architecture, training): Table 2; plus the mean occluded area."""
    rates = rate_summary(occlusion, specs, "success", ("budget", "colour"), n_boot=n_boot, seed=seed)
    finite = ~flagged(flag_nonfinite_logits(occlusion))
    area = occlusion[occlusion["success"] & finite].assign(
        arch=lambda f: f["model"].map(lambda m: specs[m].arch),
        training=lambda f: f["model"].map(lambda m: column_label(specs[m])),
    )
    mean_area = (
        area.groupby(["budget", "colour", "arch", "training"])["area_fraction"].mean().rename("mean_area_at_success")
    )
    return rates.merge(mean_area.reset_index(), on=["budget", "colour", "arch", "training"], how="left")


def occlusion_wide(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 2: a row per (budget, fill); the random-region control's rows follow the guided ones."""
    labels = [ATTACK_FAMILIES.get(a).code.label(c) for a, c in zip(summary["attack"], summary["colour"])]
    summary = summary.assign(Occlusion=labels)
    return by_training(summary, {"budget": "Budget", "Occlusion": "Occlusion", "arch": "Model"}, percent)


def ablation_table(
    gini: pd.DataFrame,
    attacks: dict[str, pd.DataFrame],
    specs: dict[str, ModelSpec],
    *,
    n_boot: int,
    seed: int,
) -> pd.DataFrame:
    """Table 3 in long form: per (method, architecture, training), the mean global Gini and the error
    rate of each attack family's columns (Noise I and II, each occlusion colour, guided and random).
    Inputs already restricted to the table's models and images; `attacks` holds each family's
    `ablation_rows` (its budget, a `setting` and `fooled`); every frame has a `method` column."""
    columns = []
    gini_summary = summarise(
        gini, specs, value_columns={"Gini": "gini_global"}, n_boot=n_boot, seed=seed, by=("method",)
    )
    columns.append(gini_summary.assign(column="Gini"))
    for family, rows in attacks.items():
        rows = rows.assign(column=rows["setting"].map(ATTACK_FAMILIES.get(family).code.label))
        columns.append(rate_summary(rows, specs, "fooled", ("method", "column"), n_boot=n_boot, seed=seed))
    frame = pd.concat(columns, ignore_index=True)
    return frame[
        [
            "method",
            "arch",
            "training",
            "norm",
            "epsilon",
            "column",
            "mean",
            "std",
            "ci_low",
            "ci_high",
            "n_seeds",
            "n_images",
            "models",
            COUNT,
        ]
    ]


def _ablation_cell(row: pd.Series) -> str:
    if row["column"] != "Gini":
        return percent(row)
    return ("n/a" if row["n_images"] == 0 else f"{row['mean']:.2f}") + n_suffix(row)


def ablation_wide(table: pd.DataFrame, method_names: dict[str, str]) -> pd.DataFrame:
    table = table.assign(cell=table.apply(_ablation_cell, axis=1))
    order = list(dict.fromkeys(table["column"]))
    wide = (
        table.pivot_table(
            index=["method", "arch", "training"], columns="column", values="cell", aggfunc="first", sort=False
        )
        .reindex(columns=order)
        .reset_index()
    )
    wide.columns.name = None
    wide["method"] = wide["method"].map(lambda m: method_names.get(m, m))
    return wide.rename(columns={"method": "Attribution method", "arch": "Model", "training": "Training"})


def transfer_table(transfer: pd.DataFrame, specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """Table 4 in long form, per (source, target, attack setting, budget), over the selected images:
    the share of source-successful attacked images that also fool the target, and the rate at which
    the attacked images fool the target over all of them. Rows where the recorded, the rebuilt or the
    target's logits were non-finite are counted in `n_nonfinite` and left out of the rates."""
    rows = []
    keys = ["source", "target", "attack", "setting", "budget"]
    transfer = transfer.assign(**{FLAG: transfer_nonfinite(transfer)})
    for (source, target, attack, setting, budget), everything in transfer.groupby(keys, sort=False):
        part = everything[~everything[FLAG]]
        succeeded = part[part["source_fooled"]]
        rows.append(
            {
                "source": source,
                "target": target,
                "source_training": f"{specs[source].arch} {column_label(specs[source])}",
                "target_training": f"{specs[target].arch} {column_label(specs[target])}",
                "attack": attack,
                "setting": setting,
                "budget": budget,
                "n_images": len(part),
                "source_success_rate": part["source_fooled"].mean(),
                "n_source_success": len(succeeded),
                "transfer_share": succeeded["target_fooled"].mean() if len(succeeded) else float("nan"),
                "target_rate": part["target_fooled"].mean(),
                "rebuild_mismatches": int((everything["source_prediction_rebuilt"] != everything["prediction"]).sum()),
                COUNT: int(everything[FLAG].sum()),
            }
        )
    return pd.DataFrame(rows)


def transfer_nonfinite(transfer: pd.DataFrame) -> pd.Series:
    """Transfer rows with non-finite logits: `NO_CLASS` recorded, rebuilt, or from the target."""
    predictions = ["prediction", "source_prediction_rebuilt", "target_prediction"]
    return (transfer[predictions] == NO_CLASS).any(axis=1)


def _transfer_cell(row: pd.Series) -> str:
    if pd.isna(row["transfer_share"]):
        return "n/a" + n_suffix(row)
    return f"{100 * row['transfer_share']:.1f}% ({100 * row['target_rate']:.1f}%)" + n_suffix(row)


def transfer_wide(table: pd.DataFrame) -> pd.DataFrame:
    labels = [
        ATTACK_FAMILIES.get(a).code.transfer_label(s, b)
        for a, s, b in zip(table["attack"], table["setting"], table["budget"])
    ]
    table = table.assign(
        column=labels,
        pair=table["source_training"] + " → " + table["target_training"],
        cell=table.apply(_transfer_cell, axis=1),
    )
    order = list(dict.fromkeys(table["column"]))
    wide = table.pivot_table(index="pair", columns="column", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=order).reset_index()
    wide.columns.name = None
    return wide.rename(columns={"pair": "Source → target"})
