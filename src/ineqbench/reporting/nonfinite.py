"""Non-finite values (NaN, ±Inf) are counted and shown, never averaged in.

The stages mark what they can detect per row: a Gini score whose map held a NaN or Inf, or whose Gini
came out undefined, has `nonfinite = True`; a prediction or attack row whose logits held one has
`logits_finite = False`. A table leaves those rows, and any other non-finite value it would average,
out of its means and intervals explicitly; it counts them in an `n_nonfinite` column (the last of its
CSV), shows the N of a cell that averages fewer images than the others, and adds a sentence to its
caption naming the models. With nothing to count, a table reads exactly as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAG = "nonfinite"
COUNT = "n_nonfinite"


def finite_values(values: pd.Series) -> pd.Series:
    """True where a value is a finite number; NaN, ±Inf and missing values are not."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    return pd.Series(np.isfinite(numbers), index=values.index)


def flagged(frame: pd.DataFrame) -> pd.Series:
    """Rows a stage marked non-finite (`nonfinite`); none in a file made before the flag existed."""
    if FLAG not in frame:
        return pd.Series(False, index=frame.index)
    return frame[FLAG].astype("boolean").fillna(False).astype(bool)


def nonfinite_rows(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Rows to leave out of the means of `columns`: flagged, or non-finite in one of them."""
    bad = flagged(frame)
    for column in columns:
        bad |= ~finite_values(frame[column])
    return bad


def counts_by(frame: pd.DataFrame, bad: pd.Series, key: str = "model") -> dict[str, int]:
    """How many `bad` rows each value of `key` has, in order of appearance, zeros left out."""
    counts = bad.groupby(frame[key], sort=False).sum()
    return {str(k): int(n) for k, n in counts.items() if n}


def caption_note(counts: dict[str, int], unit: str = "images") -> str:
    """The caption's sentence on what was left out (with a leading space), or "" when nothing was."""
    if not counts:
        return ""
    listing = ", ".join(f"{n} of {name}" for name, n in counts.items())
    return (
        f" Non-finite values (NaN or ±Inf), counted and left out of every mean, in {unit}: {listing}; "
        f"a cell that averages fewer images shows its N."
    )


def n_suffix(row: pd.Series, n_column: str = "n_images") -> str:
    """' (N = n)' for a cell that left non-finite values out, so its N differs from the others'."""
    return f" (N = {int(row[n_column])})" if row.get(COUNT, 0) > 0 else ""


def count_last(frame: pd.DataFrame, column: str = COUNT) -> pd.DataFrame:
    """`frame` with the count (or flag) column moved to the end: a CSV keeps its earlier column order."""
    if column not in frame:
        return frame
    return frame[[c for c in frame.columns if c != column] + [column]]
