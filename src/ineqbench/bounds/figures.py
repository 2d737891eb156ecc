"""Figures of the attribution-bound stage: bound against the best attack (log-log, y = x marks a
violation), bounds and attacks against ε, and global Gini against relative sensitivity.

Panels are laid out methods × norms. Models keep one colour across the three figures (ordered by
architecture, then training with standard first) so a reader can follow one model from figure to figure.
With no rows every figure still gets written, with "no data" in it, so the workflow's outputs exist.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: E402,I001
import pandas as pd
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from ineqbench.bounds.relation import RELATIONS
from ineqbench.bounds.tables import NORM_SYMBOLS
from ineqbench.models.spec import ModelSpec
from ineqbench.reporting.figures import save_figure  # imported before pyplot: it selects the Agg backend
from ineqbench.reporting.tables import column_label, training_key


def model_order(specs: dict[str, ModelSpec], models) -> list[str]:
    """Models present in the data, by architecture, training (standard first) and seed."""
    return sorted(dict.fromkeys(models), key=lambda m: (specs[m].arch, training_key(specs[m]), specs[m].seed, m))


def _colours(order: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(order) <= 10 else "tab20")
    return {m: cmap(i % cmap.N) for i, m in enumerate(order)}


def _label(specs: dict[str, ModelSpec], model: str) -> str:
    return f"{specs[model].arch} {column_label(specs[model])}"


def _panels(best: pd.DataFrame, title: str) -> tuple:
    """Figure with one axis per (method, norm); with no rows a single axis saying so."""
    methods = list(dict.fromkeys(best["method"])) if len(best) else []
    norms = list(dict.fromkeys(best["norm"])) if len(best) else []
    fig, axes = plt.subplots(
        max(len(methods), 1),
        max(len(norms), 1),
        figsize=(4.2 * max(len(norms), 1), 3.6 * max(len(methods), 1)),
        squeeze=False,
    )
    if not methods:
        axes[0, 0].text(
            0.5, 0.5, "no data: no image was bounded", ha="center", va="center", transform=axes[0, 0].transAxes
        )
        axes[0, 0].set_xticks([])
        axes[0, 0].set_yticks([])
    fig.suptitle(title, fontsize=9)
    panels = [(axes[i, j], method, norm) for i, method in enumerate(methods) for j, norm in enumerate(norms)]
    return fig, panels


def _log(ax, *axes: str) -> None:
    """Log scale without minor tick labels, which collide on short ranges (2×10⁻², 3×10⁻², ...)."""
    for name in axes:
        getattr(ax, f"set_{name}scale")("log")
        getattr(ax, f"{name}axis").set_minor_formatter(NullFormatter())


def _finish(fig, handles: list, path: str) -> None:
    if handles:
        fig.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    save_figure(fig, path)


def _model_handles(order: list[str], colours: dict, specs: dict[str, ModelSpec], **style) -> list:
    return [Line2D([], [], color=colours[m], label=_label(specs, m), **style) for m in order]


def plot_bound_scatter(best: pd.DataFrame, specs: dict[str, ModelSpec], title: str, path: str) -> None:
    """Bound (x) against D* (y), log-log with the y = x line: points above it are violations. Filled
    markers: first-order bound; hollow: practical bound. Non-positive values cannot sit on log axes and
    are counted in the panel title instead."""
    fig, panels = _panels(best, title)
    order = model_order(specs, best["model"]) if len(best) else []
    colours = _colours(order)
    for ax, method, norm in panels:
        part = best[(best["method"] == method) & (best["norm"] == norm)]
        shown, left_out = [], 0
        for model in order:
            rows = part[part["model"] == model]
            for bound, face in (("bound_first_order", colours[model]), ("bound_practical", "none")):
                keep = (rows[bound] > 0) & (rows["deviation"] > 0)
                left_out += int((~keep).sum())
                ax.scatter(
                    rows.loc[keep, bound],
                    rows.loc[keep, "deviation"],
                    s=14,
                    facecolors=face,
                    edgecolors=colours[model],
                    linewidths=0.8,
                )
                shown += [rows.loc[keep, bound], rows.loc[keep, "deviation"]]
        values = pd.concat(shown) if shown else pd.Series(dtype=float)
        if len(values):
            lo, hi = values.min() / 1.5, values.max() * 1.5
            ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls=":", label="y = x")
            _log(ax, "x", "y")
        note = f" ({left_out} non-positive not shown)" if left_out else ""
        ax.set_title(f"{method}, {NORM_SYMBOLS.get(norm, norm)}{note}", fontsize=8)
        ax.set_xlabel("bound on ‖A(x') − A(x)‖₂")
        ax.set_ylabel("best attack D*")
        ax.grid(alpha=0.3, which="both")
    handles = _model_handles(order, colours, specs, marker="o", ls="none")
    if order:
        handles += [
            Line2D([], [], marker="o", ls="none", color="grey", label="first-order bound"),
            Line2D([], [], marker="o", ls="none", markerfacecolor="none", color="grey", label="practical bound"),
            Line2D([], [], color="black", ls=":", label="y = x (above: violation)"),
        ]
    _finish(fig, handles, path)


SERIES = {
    "bound_first_order": ("o", 1.0, "median first-order bound"),
    "bound_practical": ("s", 0.5, "median practical bound"),
    "deviation": ("x", 1.0, "median best attack D*"),
}


def plot_bounds_vs_epsilon(best: pd.DataFrame, specs: dict[str, ModelSpec], title: str, path: str) -> None:
    """Median bounds and median D* per model against ε; solid lines for standard models, dashed for
    robust ones; the marker tells the series apart."""
    fig, panels = _panels(best, title)
    order = model_order(specs, best["model"]) if len(best) else []
    colours = _colours(order)
    for ax, method, norm in panels:
        part = best[(best["method"] == method) & (best["norm"] == norm)]
        for model in order:
            medians = part[part["model"] == model].groupby("epsilon")[list(SERIES)].median().sort_index()
            style = "-" if specs[model].is_standard else "--"
            for column, (marker, alpha, _) in SERIES.items():
                ax.plot(
                    medians.index, medians[column], marker=marker, ls=style, color=colours[model], alpha=alpha, ms=4
                )
        if (part[list(SERIES)] > 0).any().any():
            _log(ax, "y")
        ax.set_title(f"{method}, {NORM_SYMBOLS.get(norm, norm)}", fontsize=8)
        ax.set_xlabel("ε (pixel units)")
        ax.set_ylabel("‖A(x') − A(x)‖₂")
        ax.grid(alpha=0.3, which="both")
    handles = _model_handles(order, colours, specs)
    if order:
        handles += [Line2D([], [], marker=m, color="grey", alpha=a, label=lab) for m, a, lab in SERIES.values()]
        handles += [
            Line2D([], [], color="grey", ls="-", label="standard"),
            Line2D([], [], color="grey", ls="--", label="robust"),
        ]
    _finish(fig, handles, path)


def _rho_title(relation: pd.DataFrame, method: str, norm: str) -> str:
    row = relation[
        (relation["quantity"] == "relative_sensitivity")
        & (relation["method"] == method)
        & (relation["norm"] == norm)
        & (relation["model"] == "all")
        & (relation["epsilon_label"] == "all")
    ]
    if row.empty or pd.isna(row["rho"].iloc[0]):
        return "ρ n/a" + (f" ({row['note'].iloc[0]})" if len(row) else "")
    r = row.iloc[0]
    interval = "" if pd.isna(r["ci_low"]) else f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
    return f"ρ = {r['rho']:.2f}{interval}, n = {r['n']}"


def plot_gini_vs_sensitivity(
    best: pd.DataFrame, relation: pd.DataFrame, specs: dict[str, ModelSpec], title: str, path: str
) -> None:
    """Global Gini (x) against relative sensitivity D* / (ε ‖A‖) (y), all ε pooled, one colour per
    model; the pooled Spearman ρ and its bootstrap interval in each panel's title."""
    fig, panels = _panels(best, title)
    order = model_order(specs, best["model"]) if len(best) else []
    colours = _colours(order)
    for ax, method, norm in panels:
        part = best[(best["method"] == method) & (best["norm"] == norm)]
        for model in order:
            rows = part[part["model"] == model]
            ax.scatter(rows["gini_global"], rows["relative_sensitivity"], s=12, color=colours[model], alpha=0.7)
        if (part["relative_sensitivity"] > 0).all() and part["relative_sensitivity"].notna().any():
            _log(ax, "y")
        ax.set_title(f"{method}, {NORM_SYMBOLS.get(norm, norm)}: {_rho_title(relation, method, norm)}", fontsize=8)
        ax.set_xlabel("global Gini of the real network's |A(x)|")
        ax.set_ylabel(RELATIONS["relative_sensitivity"])
        ax.grid(alpha=0.3, which="both")
    _finish(fig, _model_handles(order, colours, specs, marker="o", ls="none"), path)


__all__ = ["model_order", "plot_bound_scatter", "plot_bounds_vs_epsilon", "plot_gini_vs_sensitivity"]
