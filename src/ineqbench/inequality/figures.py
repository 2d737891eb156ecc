"""Figures of the inequality stage: Gini against ε (per architecture) and Figure-2-style attribution maps.

The maps are shown twice: raw (channel-summed |A| scaled by its maximum) and with the ±3σ clip that
visualisations usually apply (Tsipras et al.: clip to within ±3σ, rescale to [0, 1]); Duan et al.
(Sec. 5) point out that the clip hides how few pixels dominate a robust model's attribution.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ineqbench.reporting.figures import save_figure  # noqa: E402


def plot_gini_vs_epsilon(summary: pd.DataFrame, transform: str, title: str, path: str) -> None:
    plain = summary["variant"].fillna("") == "" if "variant" in summary else True  # variants: their family's table
    part = summary[(summary["transform"] == transform) & (summary["norm"].isin(["none", "linf"])) & plain]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=False)
    for ax, scope in zip(axes, ["global", "regional"]):
        for arch, rows in part[part["scope"] == scope].groupby("arch"):
            rows = rows.sort_values("epsilon")
            ax.errorbar(rows["epsilon"] * 255, rows["mean"], yerr=rows["std"], marker="o", capsize=3, label=arch)
        ax.set_xlabel("training ε (×1/255, l∞; 0 = standard)")
        ax.set_ylabel(f"{scope} Gini")
        ax.set_title(f"{scope.capitalize()} inequality")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def clip_3sigma(saliency: np.ndarray) -> np.ndarray:
    """Clip to mean ± 3 std and rescale to [0, 1] (the usual post-processing)."""
    mu, sd = saliency.mean(), saliency.std()
    clipped = np.clip(saliency, mu - 3 * sd, mu + 3 * sd)
    lo, hi = clipped.min(), clipped.max()
    return (clipped - lo) / (hi - lo) if hi > lo else np.zeros_like(clipped)


def plot_attribution_maps(
    images: np.ndarray,
    maps: dict[str, np.ndarray],
    ginis: dict[str, np.ndarray],
    titles: dict[str, str],
    path: str,
    suptitle: str,
) -> None:
    """images (K, C, H, W) uint8; maps[model] (K, C, H, W); one row pair (raw, ±3σ clip) per image."""
    models = list(maps)
    k = len(images)
    fig, axes = plt.subplots(2 * k, len(models) + 1, figsize=(1.6 * (len(models) + 1), 3.3 * k), squeeze=False)
    for i in range(k):
        for row, clipped in ((2 * i, False), (2 * i + 1, True)):
            axes[row, 0].imshow(images[i].transpose(1, 2, 0))
            axes[row, 0].set_ylabel("±3σ clip" if clipped else "raw |A|", fontsize=8)
            for j, model in enumerate(models, start=1):
                saliency = np.abs(maps[model][i]).sum(0)
                shown = clip_3sigma(saliency) if clipped else saliency / max(saliency.max(), 1e-12)
                axes[row, j].imshow(shown, cmap="inferno", vmin=0, vmax=1)
                if row == 0:
                    axes[row, j].set_title(titles[model], fontsize=7)
                if not clipped:
                    axes[row, j].text(1, 3, f"Gini {ginis[model][i]:.2f}", color="white", fontsize=6.5)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(suptitle, fontsize=9)
    save_figure(fig, path)
