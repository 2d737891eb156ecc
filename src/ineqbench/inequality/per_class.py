"""Per-class inequality (Duan et al. A.7, Tables 6 and 7): the mean global and regional Gini of each class,
for the plain standard model and the strongest l∞ model of each architecture, over every pool image of the
class, correctly classified or not (as A.7 averages all 50,000 ImageNet validation images); the top and
bottom classes by the robust model's Gini, named; a per-class figure.

Zero-mass maps and non-finite values are left out of a class's mean and counted (`n_left_out`)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ineqbench.io import read_json, write_text  # noqa: E402
from ineqbench.models.spec import standard_and_strongest  # noqa: E402
from ineqbench.reporting.figures import save_figure  # noqa: E402
from ineqbench.reporting.models import specs_from_cards  # noqa: E402
from ineqbench.reporting.nonfinite import nonfinite_rows  # noqa: E402
from ineqbench.reporting.tables import column_label, to_markdown  # noqa: E402

SCOPES = {"global": "gini_global", "regional": "gini_regional"}


def per_class_summary(scores: pd.DataFrame, class_names: list[str]) -> pd.DataFrame:
    """One row per (model, class, scope): N averaged, the mean Gini, and the rows left out."""
    rows = []
    for scope, column in SCOPES.items():
        bad = nonfinite_rows(scores, [column]) | scores.get("zero_mass", False)
        frame = scores.assign(_bad=bad)
        for (model, label), part in frame.groupby(["model", "label"], sort=True):
            kept = part.loc[~part["_bad"], column]
            rows.append(
                {
                    "model": model,
                    "label": int(label),
                    "class_name": class_names[int(label)],
                    "scope": scope,
                    "n_images": len(kept),
                    "mean": float(kept.mean()) if len(kept) else float("nan"),
                    "n_left_out": int(part["_bad"].sum()),
                }
            )
    return pd.DataFrame(rows)


def ranked_classes(summary: pd.DataFrame, standard: str, robust: str, scope: str, top: int) -> pd.DataFrame:
    """Table 6/7: the `top` classes of highest and of lowest mean Gini under the robust model, with the
    standard model's Gini of the same class beside it."""
    part = summary[summary["scope"] == scope].pivot_table(
        index=["label", "class_name"], columns="model", values="mean", aggfunc="first"
    )
    part = part.reset_index().sort_values(robust, ascending=False, kind="stable")
    ranked = pd.concat([part.head(top).assign(rank="top"), part.tail(top).iloc[::-1].assign(rank="bottom")])
    return ranked.rename(columns={robust: "robust", standard: "standard"})[
        ["rank", "label", "class_name", "robust", "standard"]
    ]


def plot_per_class(summary: pd.DataFrame, pairs: list[tuple[str, str]], labels: dict[str, str], path: str) -> None:
    """Per pair and scope, each class's mean Gini under both models, classes sorted by the robust one."""
    fig, axes = plt.subplots(len(pairs), 2, figsize=(9, 3.2 * len(pairs)), squeeze=False)
    for i, (standard, robust) in enumerate(pairs):
        for j, scope in enumerate(SCOPES):
            part = summary[summary["scope"] == scope].pivot_table(index="class_name", columns="model", values="mean")
            part = part.sort_values(robust, ascending=False)
            ax = axes[i, j]
            for model, style in ((robust, "o-"), (standard, "s--")):
                ax.plot(range(len(part)), part[model], style, markersize=3, label=labels[model])
            if len(part) <= 20:
                ax.set_xticks(range(len(part)), part.index, rotation=60, fontsize=7)
            else:
                ax.set_xlabel(f"{len(part)} classes, by the robust model's Gini")
            ax.set_ylabel(f"mean {scope} Gini")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def aggregate_per_class(
    *,
    dataset: str,
    method: str,
    score_paths: dict[str, str],
    card_paths: dict[str, str],
    info_path: str,
    transform: str,
    top: int,
    images: str = "pool",
    csv_path: str,
    md_path: str,
    figure_path: str,
) -> None:
    specs = specs_from_cards(card_paths)
    class_names = read_json(info_path)["class_names"]
    pairs = [(std.id, robust.id) for std, robust in standard_and_strongest(list(specs.values()))]
    models = list(dict.fromkeys(m for pair in pairs for m in pair))
    labels = {m: f"{specs[m].arch} {column_label(specs[m])}" for m in models}
    sections = []
    if not pairs:
        write_text(md_path, f"### Per-class inequality on {dataset}: no standard and l∞ model of one architecture.\n")
        pd.DataFrame(columns=["model", "label", "class_name", "scope", "n_images", "mean", "n_left_out"]).to_csv(
            csv_path, index=False
        )
        plot_per_class(pd.DataFrame(columns=["scope", "class_name", "model", "mean"]), [], labels, figure_path)
        return
    scores = pd.concat([pd.read_parquet(score_paths[m]).assign(model=m) for m in models], ignore_index=True)
    scores = scores[scores["transform"] == transform]
    summary = per_class_summary(scores, class_names)
    summary.assign(dataset=dataset, method=method, transform=transform).to_csv(csv_path, index=False)
    n_pool = scores.groupby("model").size()
    for standard, robust in pairs:
        left_out = summary[summary["model"].isin([standard, robust])].groupby("model")["n_left_out"].sum()
        note = "; ".join(f"{m}: {n}" for m, n in left_out.items() if n)
        for scope in SCOPES:
            table = ranked_classes(summary, standard, robust, scope, top)
            table = table.assign(
                robust=table["robust"].map("{:.3f}".format), standard=table["standard"].map("{:.3f}".format)
            )
            caption = (
                f"{scope.capitalize()} Gini ({transform}) of {method} attributions per class on {dataset}: the "
                f"{top} classes of highest and of lowest mean under {labels[robust]}, beside {labels[standard]}; "
                f"over all {n_pool[robust]} {'pool' if images == 'pool' else 'test-split'} images, correctly "
                "classified or not (Duan et al. A.7)"
                + (f". Zero-mass or non-finite maps left out: {note}" if note else "")
                + "."
            )
            wide = table.rename(
                columns={"rank": "", "class_name": "Class", "label": "Label", "robust": labels[robust],
                         "standard": labels[standard]}
            )  # fmt: skip
            sections.append(f"### {caption}\n\n{to_markdown(wide)}\n")
    write_text(md_path, "\n".join(sections))
    plot_per_class(summary, pairs, labels, figure_path)
