"""Figure helpers shared by the stages: the Agg backend (no display on cluster nodes) and atomic PNGs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ineqbench.io import atomic_path  # noqa: E402


def save_figure(fig, path: str) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
