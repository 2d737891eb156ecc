"""Paper vs this run: the published numbers of Duan et al. (2023) beside the run's, wherever a model
of the run matches a setting of the paper.

Matching. A row of a run table matches a published number when
- the run's data set corresponds to the paper's (`paper_dataset`, derived by the workflow from the
  data set builder: cifar10 -> cifar10, imagenet_folder -> imagenet; None for any other data),
- its architecture, without a timm tag (resnet50.tv_in1k -> resnet50), maps to a paper name in
  `PAPER_ARCHS`,
- it is standard (ε = 0) or l∞-trained with round(ε·255, 3) in the paper's ladder for that table
  (0, 1, 2, 4, 8; the README's 0.5 ... 8 for clean accuracy),
- and the measure is the paper's, in the same setting:
  Table 1 from `gini_<method>` (transform abs, the paper's absolute attribution; scopes global and
  regional; IG only, as the paper), Table 2 from `occlusion_<method>` (budget strings such as
  "N=5, R=10" and colours exactly as the run writes them), Table 3 from `ablation` (see below), and
  the README's clean accuracies from `models` (models.csv).

Table 3 (ablation.csv) does not record its Gini transform or its occlusion budget. Both are identified
from the run's own tables: the ablation's Gini of a method equals the `gini_<method>` global mean of
one transform, and its occlusion rates equal the `occlusion_<method>` rates of one budget (same models,
same selected images). A Table 3 column is compared only when its setting is identified and is the
paper's (transform abs; N=5, R=10). Its noise threshold is not stated by the paper, so Noise I and II
are compared at the run's table budget, and the paper's note saying so travels with each row.

Numbers the paper states only in its text (Figure 3's noise rates, the appendix) are in the
reference data but not compared: their settings are not fully stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ineqbench.io import atomic_path, write_text
from ineqbench.models.spec import parse_epsilon
from ineqbench.reference import KEY, load_reference
from ineqbench.registry import Registry
from ineqbench.reporting.tables import to_markdown

# timm architecture (tag stripped) -> the paper's name for it
PAPER_ARCHS: dict[str, str] = {
    "resnet18": "ResNet18",
    "cifar_resnet18": "ResNet18",
    "resnet50": "ResNet50",
    "wide_resnet50_2": "WideResNet",
    "densenet121": "DenseNet",
    "cifar_densenet121": "DenseNet",
}
PAPER_DATASETS = ("cifar10", "imagenet")
PAPER_TRANSFORM = "abs"  # the paper's global Gini is of the absolute attribution
COMPARED_TABLES = ("Table 1", "Table 2", "Table 3", "RMT README")
COLOURS = ("black", "grey", "white")
NOISE_METRICS = {"type1": "noise_type1_error", "type2": "noise_type2_error"}
# The paper's column names, which the run's attack tables use too (their documented column set).
NOISE_LABELS = {"type1": "Noise I", "type2": "Noise II"}
COLOUR_LABELS = {"black": "Occ-B", "grey": "Occ-G", "white": "Occ-W"}

RUN_COLUMNS = [
    "run_arch",
    "norm",
    "epsilon",
    "method",
    "metric",
    "setting",
    "colour",
    "this_run",
    "this_run_std",
    "this_run_ci_low",
    "this_run_ci_high",
    "n_images",
    "models",
    "run_setting",
]
OUTPUT_COLUMNS = [
    *KEY,
    "paper",
    "paper_std",
    "this_run",
    "this_run_std",
    "difference",
    "this_run_ci_low",
    "this_run_ci_high",
    "n_images",
    "models",
    "run_arch",
    "run_setting",
    "source",
    "note",
]


def paper_arch(arch: str) -> str | None:
    """The paper's name of a timm architecture, ignoring a pretrained tag; None if the paper has none."""
    return PAPER_ARCHS.get(arch.split(".", 1)[0])


def paper_training(norm: str, epsilon: float) -> tuple[str, float] | None:
    """("standard", 0) or ("linf", ε·255 rounded to 3 decimals); None for other threat models."""
    if epsilon == 0:
        return "standard", 0.0
    if norm == "linf":
        return "linf", round(float(epsilon) * 255, 3)
    return None


def _rows(frame: pd.DataFrame, table: str, metric, setting, colour, run_setting) -> pd.DataFrame:
    """A run table in the comparison's long form; metric/setting/colour/run_setting are values or Series."""
    out = pd.DataFrame(
        {
            "table": table,
            "run_arch": frame["arch"],
            "norm": frame["norm"],
            "epsilon": frame["epsilon"].astype(float),
            "method": frame["method"] if "method" in frame else "",
            "metric": metric,
            "setting": setting,
            "colour": colour,
            "this_run": frame["mean"].astype(float),
            "this_run_std": frame["std"].astype(float),
            "this_run_ci_low": frame.get("ci_low", np.nan),
            "this_run_ci_high": frame.get("ci_high", np.nan),
            "n_images": frame["n_images"],
            "models": frame["models"],
            "run_setting": run_setting,
            "variant": frame["variant"].fillna("") if "variant" in frame else "",
        },
        index=frame.index,
    )
    return out


# --- one reader per kind of run table (the part of the table_paths key before the first "_") ---------
RUN_TABLES: Registry = Registry("run table kind")


@RUN_TABLES.register("gini")
def _gini_rows(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    part = frame[(frame["transform"] == PAPER_TRANSFORM) & frame["scope"].isin(["global", "regional"])]
    return _rows(part, "Table 1", "gini_" + part["scope"], "", "", f"transform {PAPER_TRANSFORM}")


@RUN_TABLES.register("occlusion")
def _occlusion_rows(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return _rows(frame, "Table 2", "occlusion_error", frame["budget"], frame["colour"], frame["budget"])


@RUN_TABLES.register("noise")
def _noise_rows(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Figure 3's rates in the paper's text have no stated threshold: nothing to compare."""
    return pd.DataFrame(columns=["table", *RUN_COLUMNS])


@RUN_TABLES.register("models")
def _model_rows(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """models.csv: clean accuracy per plain model; seeds of one (architecture, training) are averaged."""
    frame = frame[frame["variant"].fillna("") == ""] if "variant" in frame else frame
    threat = [_parse_training_label(label) for label in frame["training"]]
    frame = frame.assign(norm=[t[0] for t in threat], epsilon=[t[1] for t in threat])
    grouped = frame.groupby(["arch", "training", "norm", "epsilon"], sort=False)
    summary = grouped.agg(
        mean=("clean_accuracy", "mean"),
        std=("clean_accuracy", lambda v: v.std(ddof=0) if len(v) > 1 else np.nan),
        models=("model", lambda v: ",".join(sorted(v))),
    ).reset_index()
    summary = summary.assign(n_images=pd.NA)
    return _rows(summary, "RMT README", "clean_accuracy", "", "", "clean accuracy on the run's test split")


@RUN_TABLES.register("ablation")
def _ablation_rows(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    transform = _identify(
        frame[frame["column"] == "Gini"].assign(scope="global"),
        tables,
        "gini",
        "transform",
        ["method", "models", "scope"],
        lambda t: t[t["scope"] == "global"],
    )
    occ_names = {COLOUR_LABELS[c]: c for c in COLOURS}
    occlusion = frame[frame["column"].isin(occ_names)].assign(colour=lambda f: f["column"].map(occ_names))
    budget = _identify(occlusion, tables, "occlusion", "budget", ["method", "models", "colour"], lambda t: t)
    parts = []
    if transform == PAPER_TRANSFORM:
        gini = frame[frame["column"] == "Gini"]
        parts.append(
            _rows(
                gini,
                "Table 3",
                "gini_global",
                "",
                "",
                f"global Gini, transform {transform} (identified from the gini tables)",
            )
        )
    noise_names = {NOISE_LABELS[t]: metric for t, metric in NOISE_METRICS.items()}
    noise = frame[frame["column"].isin(noise_names)]
    parts.append(_rows(noise, "Table 3", noise["column"].map(noise_names), "", "", "the run's noise table budget"))
    if budget is not None:
        parts.append(
            _rows(
                occlusion,
                "Table 3",
                "occlusion_error",
                budget,
                occlusion["colour"],
                f"{budget} (identified from the occlusion tables)",
            )
        )
    return pd.concat(parts, ignore_index=True)


def _identify(
    ablation: pd.DataFrame, tables: dict[str, pd.DataFrame], kind: str, by: str, keys: list[str], restrict
) -> str | None:
    """The value of `by` (a transform, a budget) under which the run's `kind` tables hold exactly the
    ablation's means: the ablation is computed on the same models and images, so its numbers reappear
    there. None when no table of that kind covers the ablation's methods, or when ambiguous."""
    candidates = [restrict(t) for name, t in tables.items() if name.split("_", 1)[0] == kind and len(t)]
    if not candidates or not len(ablation):
        return None
    candidates = pd.concat(candidates, ignore_index=True)
    ablation = ablation[ablation["method"].isin(candidates["method"])]
    if not len(ablation):
        return None
    found = []
    for value, part in candidates.groupby(by, sort=False):
        merged = ablation.merge(part[[*keys, "mean"]], on=keys, suffixes=("", "_run"))
        if len(merged) == len(ablation) and np.allclose(merged["mean"], merged["mean_run"], rtol=0, atol=1e-9):
            found.append(value)
    return found[0] if len(found) == 1 else None


def _parse_training_label(label: str) -> tuple[str, float]:
    """Inverse of tables.column_label: "Std. trained", "ε = 8/255", "l2 ε = 3" -> (norm, ε)."""
    if label == "Std. trained":
        return "none", 0.0
    prefix, _, value = label.partition("ε = ")
    norm = prefix.strip() or "linf"
    return norm, parse_epsilon(value, norm)


def run_rows(run_tables: dict[str, pd.DataFrame], paper_dataset: str) -> pd.DataFrame:
    """Every run number that could meet a published one, keyed like the reference data."""
    parts = [
        RUN_TABLES.get(kind.split("_", 1)[0])(frame, run_tables) for kind, frame in run_tables.items() if len(frame)
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*KEY, *RUN_COLUMNS])
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["variant"] == ""].drop(columns="variant")  # the papers' tables have no variants
    threat = [paper_training(n, e) for n, e in zip(rows["norm"], rows["epsilon"])]
    rows = rows.assign(
        dataset=paper_dataset,
        arch=rows["run_arch"].map(paper_arch),
        training=[t[0] if t else None for t in threat],
        epsilon_255=[t[1] if t else np.nan for t in threat],
    )
    return rows.dropna(subset=["arch", "training"]).reset_index(drop=True)


def paper_comparison(
    run_tables: dict[str, pd.DataFrame], paper_dataset: str | None, reference: pd.DataFrame
) -> pd.DataFrame:
    """Published numbers beside the run's: one row per (paper number, matching run value).

    `run_tables` maps a kind ("gini_ig", "occlusion_ig", "ablation", "models", "noise_ig") to the run's
    aggregate table; `reference` is `load_reference()`. Columns `OUTPUT_COLUMNS`; `difference` is
    this_run - paper. Empty (with the columns) when `paper_dataset` is None or nothing matches."""
    empty = pd.DataFrame(columns=OUTPUT_COLUMNS)
    if paper_dataset is None:
        return empty
    if paper_dataset not in PAPER_DATASETS:
        raise ValueError(
            f"paper_dataset {paper_dataset!r} is none of the paper's data sets {PAPER_DATASETS} "
            "(None for any other data)"
        )
    rows = run_rows(run_tables, paper_dataset)
    if not len(rows):
        return empty
    ref = reference[reference["table"].isin(COMPARED_TABLES) & (reference["dataset"] == paper_dataset)]
    ref = ref.assign(_order=np.arange(len(ref)))
    merged = ref.merge(rows.drop(columns=["norm", "epsilon"]), on=KEY, how="inner")
    if not len(merged):
        return empty
    merged = merged.rename(columns={"value": "paper", "std": "paper_std"})
    merged["difference"] = merged["this_run"] - merged["paper"]
    merged["n_images"] = merged["n_images"].astype("Int64")
    merged = merged.sort_values(["_order", "run_arch"], kind="stable")
    return merged[OUTPUT_COLUMNS].reset_index(drop=True)


# --- markdown --------------------------------------------------------------------------------------
def _is_gini(metric: str) -> bool:
    return metric.startswith("gini")


def _value(metric: str, value: float, std: float = np.nan) -> str:
    if pd.isna(value):
        return ""
    if _is_gini(metric):
        return f"{value:.2f}" + ("" if pd.isna(std) else f" ± {std:.2f}")
    return f"{100 * value:.2f}%" if metric == "clean_accuracy" else f"{100 * value:.1f}%"


def _difference(metric: str, value: float) -> str:
    return f"{value:+.2f}" if _is_gini(metric) else f"{100 * value:+.1f} pp"


def _measure(row: pd.Series) -> str:
    names = {
        "gini_global": "Gini (global)",
        "gini_regional": "Gini (regional)",
        "clean_accuracy": "Clean accuracy",
        **{m: f"{NOISE_LABELS[t]} error" for t, m in NOISE_METRICS.items()},
    }
    if row["metric"] == "occlusion_error":
        return f"{COLOUR_LABELS.get(row['colour'], row['colour'])} error"
    return names.get(row["metric"], row["metric"])


def _training(row: pd.Series) -> str:
    return "Std. trained" if row["training"] == "standard" else f"ε = {row['epsilon_255']:g}/255"


def comparison_markdown(comparison: pd.DataFrame, paper_dataset: str | None, dataset: str | None = None) -> str:
    """The comparison as a markdown section; one sentence when there is nothing to compare."""
    if not len(comparison):
        reason = (
            "its data set is not one of the paper's (CIFAR10, ImageNet)"
            if paper_dataset is None
            else f"no architecture, training and ε on {paper_dataset} is one the paper reports "
            f"({', '.join(sorted(set(PAPER_ARCHS.values())))}; standard or l∞)"
        )
        return f"No model of this run matches a setting of Duan et al. (2023); {reason}.\n"
    wide = pd.DataFrame(
        {
            "Source": comparison["table"],
            "Model": comparison["arch"],
            "Run model": comparison["run_arch"],
            "Training": comparison.apply(_training, axis=1),
            "Method": comparison["method"],
            "Measure": comparison.apply(_measure, axis=1),
            "Setting": comparison["setting"],
            "Paper": [
                _value(m, v, s) for m, v, s in zip(comparison["metric"], comparison["paper"], comparison["paper_std"])
            ],
            "This run": [
                _value(m, v, s if _is_gini(m) else np.nan)
                for m, v, s in zip(comparison["metric"], comparison["this_run"], comparison["this_run_std"])
            ],
            "Difference": [_difference(m, d) for m, d in zip(comparison["metric"], comparison["difference"])],
            "N": ["" if pd.isna(n) else str(int(n)) for n in comparison["n_images"]],
        }
    )
    where = f" on {dataset}" if dataset else ""
    heading = (
        f"### Duan et al. (2023) vs this run{where} (the paper's {paper_dataset} settings): published "
        "numbers beside the run's, difference = this run - paper (percentage points for rates)."
    )
    notes = [
        f"- Gini: absolute attribution (transform {PAPER_TRANSFORM}), as in the paper's text; mean ± std "
        "over the selected images. Rates: share of the selected images the attack fools."
    ]
    for table, part in comparison.groupby("table", sort=False):
        sources = " ".join(dict.fromkeys(part["source"]))
        notes.append(f"- {table} (paper: {sources}; this run: {'; '.join(dict.fromkeys(part['run_setting']))})")
        notes += [f"  - {note}" for note in dict.fromkeys(part["note"])]
    if "Table 3" in set(comparison["table"]):
        notes.append(
            "- Table 3 of this run (ablation.csv) does not record its Gini transform or occlusion budget; "
            "both are identified from the gini and occlusion tables, and a column whose setting is not "
            "the paper's is left out."
        )
    return f"{heading}\n\n{to_markdown(wide)}\n\n" + "\n".join(notes) + "\n"


def compare_with_paper(*, paper_dataset: str | None, table_paths: dict[str, str], csv_path: str, md_path: str) -> None:
    """Read the run's aggregate tables (kind -> CSV path), compare with the shipped reference data, and
    write the long comparison (CSV) and its markdown, each atomically."""
    tables = {kind: pd.read_csv(path) for kind, path in table_paths.items()}
    comparison = paper_comparison(tables, paper_dataset, load_reference())
    datasets = [d for t in tables.values() if "dataset" in t for d in t["dataset"].dropna().unique()]
    with atomic_path(csv_path) as tmp:
        comparison.to_csv(tmp, index=False)
    write_text(md_path, comparison_markdown(comparison, paper_dataset, datasets[0] if datasets else None))


__all__ = [
    "COMPARED_TABLES",
    "OUTPUT_COLUMNS",
    "PAPER_ARCHS",
    "PAPER_DATASETS",
    "comparison_markdown",
    "paper_arch",
    "paper_comparison",
    "compare_with_paper",
    "paper_training",
    "run_rows",
]
