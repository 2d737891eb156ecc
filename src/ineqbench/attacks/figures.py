"""Figures of the attack stage: error rate against k (Figure 3) and occluded examples (Figure 4)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ineqbench.reporting.figures import save_figure  # noqa: E402


def plot_noise_curves(summary: pd.DataFrame, labels: dict[str, str], title: str, path: str) -> None:
    """Figure 3: error rate against k (share of C×H×W), one panel per (architecture, noise type),
    one line per training, with the 95% interval as a band."""
    archs = list(dict.fromkeys(summary["arch"]))
    types = list(dict.fromkeys(summary["noise_type"]))
    ranked = summary.assign(_robust=summary["norm"] != "none").sort_values(["_robust", "norm", "epsilon"])
    colours = {t: f"C{i}" for i, t in enumerate(dict.fromkeys(ranked["training"]))}  # one colour per training
    fig, axes = plt.subplots(
        len(archs), len(types), figsize=(3.2 * len(types), 2.8 * len(archs)), squeeze=False, sharey=True
    )
    for i, arch in enumerate(archs):
        for j, noise_type in enumerate(types):
            ax = axes[i, j]
            part = summary[(summary["arch"] == arch) & (summary["noise_type"] == noise_type)]
            for training, rows in part.groupby("training", sort=False):
                rows = rows.sort_values("k")
                x = rows["fraction_percent"]
                ax.plot(x, 100 * rows["mean"], marker="o", label=training, color=colours[training])
                ax.fill_between(x, 100 * rows["ci_low"], 100 * rows["ci_high"], alpha=0.15, color=colours[training])
            ax.set_xscale("log")
            ax.set_title(f"{arch}: {labels[noise_type]}", fontsize=9)
            ax.set_xlabel("k, % of C×H×W")
            ax.grid(alpha=0.3)
        axes[i, 0].set_ylabel("error rate (%)")
        axes[i, -1].legend(fontsize=7)  # per row: architectures may have different ε ladders
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def plot_occluded_examples(
    images: dict[str, np.ndarray], captions: dict[str, list[str]], titles: dict[str, str], path: str, suptitle: str
) -> None:
    """Figure 4: images[model] (K, C, H, W) uint8 occluded at the search's stop, one column per model."""
    models = list(images)
    k = len(next(iter(images.values())))
    fig, axes = plt.subplots(k, len(models), figsize=(1.9 * len(models), 2.1 * k), squeeze=False)
    for j, model in enumerate(models):
        axes[0, j].set_title(titles[model], fontsize=7)
        for i in range(k):
            axes[i, j].imshow(images[model][i].transpose(1, 2, 0))
            axes[i, j].set_xlabel(captions[model][i], fontsize=6.5)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(suptitle, fontsize=9)
    save_figure(fig, path)
