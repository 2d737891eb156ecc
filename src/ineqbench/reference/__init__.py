"""Published numbers shipped with the package, to set a run beside the paper it reproduces.

`duan2023.csv` holds every number of Duan et al. (ICLR 2023) that the project notes
(shared/notes/inequality-paper.md, sections 2 and 7) record: Tables 1, 2 and 3 of the submission, the
clean accuracies of the robust ImageNet checkpoints from the robust-models-transfer README, and the
numbers stated only in the text. One row per number (long format):

- `table`: "Table 1", "Table 2", "Table 3", "RMT README" or "Text".
- `dataset` (cifar10 | imagenet), `arch` (the paper's name: ResNet18, ResNet50, WideResNet, DenseNet),
  `training` (standard | linf), `epsilon_255` (the l∞ radius times 255; 0 for standard).
- `method`: the suite's attribution method id (ig, ixg, gradshap, smoothgrad).
- `metric`: gini_global, gini_regional, occlusion_error, noise_type1_error, noise_type2_error,
  noise_random_error, clean_accuracy (or gini where the text leaves the scope open).
- `setting`: the attack budget as the suite writes it ("N=5, R=10"), or a class for per-class values;
  `colour`: the occlusion fill (black, grey, white).
- `value` (a fraction for percentages, 31.6% -> 0.316; Gini as is), `std` (Table 1's ± value).
- `source`: the notes' tag ([SUB] submission, [SEED] camera-ready text, [PM] camera-ready excerpts,
  [RMT] README); `note`: what the source leaves open.

A field the source does not state is left empty rather than guessed; where a value was inferred
(e.g. a colour from the equal Table 2 cell) the note says so.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from ineqbench.registry import Registry

KEY = ["table", "dataset", "arch", "training", "epsilon_255", "method", "metric", "setting", "colour"]
COLUMNS = [*KEY, "value", "std", "source", "note"]
_TEXT_COLUMNS = [c for c in COLUMNS if c not in ("epsilon_255", "value", "std")]

# reference set name -> CSV file in this package
REFERENCES: Registry[str] = Registry("reference data set")
REFERENCES.add("duan2023", "duan2023.csv")


def load_reference(name: str = "duan2023") -> pd.DataFrame:
    """The published numbers of `name` in the long format above; empty text fields are "" (not NaN),
    unknown numbers NaN."""
    path = resources.files(__name__) / REFERENCES.get(name)
    with resources.as_file(path) as csv_path:
        frame = pd.read_csv(
            csv_path,
            dtype={c: str for c in _TEXT_COLUMNS},
            keep_default_na=False,
            na_values={c: [""] for c in ("epsilon_255", "value", "std")},
        )
    if list(frame.columns) != COLUMNS:
        raise ValueError(f"reference {name!r} has columns {list(frame.columns)}, expected {COLUMNS}")
    return frame


__all__ = ["COLUMNS", "KEY", "REFERENCES", "load_reference"]
