"""The verdict rules of docs/claims.md, and the bootstrap intervals they read. Pure functions of arrays,
so each rule is tested on hand-made numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SEEDS = 3  # "holds" or "does not hold" on a claim about training needs this many training seeds
MARGINS = {"gini": 0.02, "rate": 0.02}  # δ of the "not more than" claims, in Gini or in error-rate units


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n_seeds: int
    n_images: int  # per seed, the mean over seeds (images that entered the difference)
    n_left_out: int  # non-finite values or unmatched pairs left out

    def side(self) -> int:
        """+1 above zero, -1 below, 0 when the interval contains zero (or is undefined)."""
        if not np.isfinite(self.low) or not np.isfinite(self.high):
            return 0
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def covers(self) -> str:
        seeds = f"{self.n_seeds} seed" + ("s" if self.n_seeds != 1 else "")
        return f"{self.n_images} images × {seeds}" + (f" ({self.n_left_out} left out)" if self.n_left_out else "")


def bootstrap_difference(
    groups: list[tuple[np.ndarray, np.ndarray]], *, paired: bool, n_boot: int, seed: int
) -> Interval:
    """The mean of b − a with a 95% percentile interval; `groups` holds one (a, b) pair of value arrays per
    seed. Paired: a and b are the same images (NaN in either drops the image); the interval resamples
    seeds, then images within each seed. Unpaired: a and b are resampled apart within each seed."""
    cleaned, left_out = [], 0
    for a, b in groups:
        a, b = np.asarray(a, float), np.asarray(b, float)
        if paired:
            keep = np.isfinite(a) & np.isfinite(b)
            left_out += int((~keep).sum())
            a, b = a[keep], b[keep]
        else:
            left_out += int((~np.isfinite(a)).sum() + (~np.isfinite(b)).sum())
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) and len(b):
            cleaned.append((a, b))
    if not cleaned:
        nan = float("nan")
        return Interval(nan, nan, nan, 0, 0, left_out)
    estimate = float(np.mean([b.mean() - a.mean() for a, b in cleaned]))
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for i in range(n_boot):
        picks = rng.integers(0, len(cleaned), size=len(cleaned))
        diffs = []
        for j in picks:
            a, b = cleaned[j]
            if paired:
                idx = rng.integers(0, len(a), size=len(a))
                diffs.append(b[idx].mean() - a[idx].mean())
            else:
                diffs.append(
                    b[rng.integers(0, len(b), size=len(b))].mean() - a[rng.integers(0, len(a), size=len(a))].mean()
                )
        draws[i] = np.mean(diffs)
    n_images = round(np.mean([len(b) for _, b in cleaned]))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return Interval(estimate, float(lo), float(hi), len(cleaned), int(n_images), left_out)


def verdict(interval: Interval, *, direction: int, kind: str, margin: float | None = None) -> str:
    """holds / does not hold / inconclusive, by docs/claims.md. `direction` is the claimed sign of Δ
    (+1: Δ > 0); with a `margin` δ the claim is "Δ is not more than δ" (direction must be -1)."""
    if not np.isfinite(interval.low) or not np.isfinite(interval.high):
        return "inconclusive (no data)"
    if kind == "training" and interval.n_seeds < MIN_SEEDS:
        return f"inconclusive ({interval.n_seeds} seed{'s' if interval.n_seeds != 1 else ''})"
    if margin is not None:
        return "holds" if interval.high < margin else "does not hold" if interval.low > 0 else "inconclusive"
    side = interval.side() * direction
    return "holds" if side > 0 else "does not hold" if side < 0 else "inconclusive"


def agreement(sides: dict[str, int]) -> str:
    """D11 on one sub-claim: every method's interval on one side of zero (holds), two on opposite sides
    (does not hold), else inconclusive."""
    decided = {s for s in sides.values() if s != 0}
    if len(decided) > 1:
        return "does not hold"
    if decided and all(s != 0 for s in sides.values()):
        return "holds"
    return "inconclusive"


def upper_rate(events: int, trials: int, level: float = 0.95) -> float:
    """Clopper–Pearson upper limit of a rate with `events` in `trials` (two-sided `level`)."""
    if trials == 0:
        return float("nan")
    if events >= trials:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(1 - (1 - level) / 2, events + 1, trials - events))
