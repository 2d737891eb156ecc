"""The evidence the claims are read from: per model and selected image, the stages' outputs (Gini,
attack outcomes), and which models each claim compares (the ε ladder's pairs, a family member's plain
partner, a pruned model's unpruned comparator). A flagged or non-finite value is NaN here, left out and
counted by the claims."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import pandas as pd

from ineqbench.claims.verdicts import Interval, bootstrap_difference
from ineqbench.models.spec import ModelSpec, standard_and_strongest
from ineqbench.reporting.tables import column_label


def _flagged(frame: pd.DataFrame, *columns: str) -> pd.Series:
    """Rows a stage flagged in any of `columns` (a column it did not write flags nothing)."""
    bad = pd.Series(False, index=frame.index)
    for column in columns:
        if column in frame:
            bad |= frame[column].astype(bool)
    return bad


def by_arch(pairs: list[tuple[ModelSpec, ModelSpec]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Pairs grouped by architecture: [(arch, [(a id, b id) per seed])]."""
    ordered = sorted(pairs, key=lambda p: p[0].arch_name)
    return [(arch, [(a.id, b.id) for a, b in group]) for arch, group in groupby(ordered, key=lambda p: p[0].arch_name)]


@dataclass
class Evidence:
    specs: dict[str, ModelSpec]
    variant_settings: dict[str, dict]  # model -> its variant's settings ({} for a plain model)
    chosen: np.ndarray  # selected pool indices, sorted
    inputs: dict  # claims.workflow.claim_inputs: {kind: {method: {model: path}}}, transfer, bounds
    method: str
    transform: str
    noise_budget: str
    occlusion_budget: str | None
    n_boot: int
    seed: int
    _cache: dict = field(default_factory=dict)

    def _read(self, path: str) -> pd.DataFrame:
        if path not in self._cache:
            self._cache[path] = pd.read_parquet(path)
        return self._cache[path]

    def _aligned(self, frame: pd.DataFrame, column: str, bad: pd.Series) -> np.ndarray:
        """`column` per selected image (NaN where flagged, non-finite or missing)."""
        values = frame[column].astype(float).where(~bad)
        return pd.Series(values.to_numpy(), index=frame["pool_index"]).reindex(self.chosen).to_numpy()

    def gini(self, model: str, scope: str, method: str | None = None) -> np.ndarray:
        frame = self._read(self.inputs["scores"][method or self.method][model])
        frame = frame[frame["transform"] == self.transform]
        return self._aligned(frame, f"gini_{scope}", _flagged(frame, "zero_mass", "nonfinite"))

    def attack(self, family: str, model: str, method: str | None = None, **match: str) -> np.ndarray:
        """Per image, 1 when the attack fooled the model (the rows matching `match`), else 0."""
        frame = self._read(self.inputs[family][method or self.method][model])
        for column, value in match.items():
            frame = frame[frame[column] == value]
        outcome = "fooled" if "fooled" in frame else "success"
        return self._aligned(frame, outcome, ~frame["logits_finite"].astype(bool))

    def noise(self, model: str, noise_type: str, method: str | None = None) -> np.ndarray:
        return self.attack("noise", model, method, noise_type=noise_type, budget=self.noise_budget)

    def occlusion(self, model: str, colour: str, method: str | None = None, family: str = "occlusion") -> np.ndarray:
        return self.attack(family, model, method, colour=colour, budget=self.occlusion_budget)

    def has(self, kind: str, model: str, method: str | None = None) -> bool:
        return model in self.inputs.get(kind, {}).get(method or self.method, {})

    def interval(self, groups: list[tuple[np.ndarray, np.ndarray]], paired: bool = True) -> Interval:
        return bootstrap_difference(groups, paired=paired, n_boot=self.n_boot, seed=self.seed)

    def label(self, model: str) -> str:
        return column_label(self.specs[model])

    def ladder(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The paper's comparison per architecture: [(arch, [(standard id, strongest l∞ id) per seed])]."""
        return by_arch(standard_and_strongest(list(self.specs.values())))

    def plain_partner(self, spec: ModelSpec, *, norm: str | None, epsilon: float | None) -> str | None:
        """The plain model of `spec`'s architecture and seed with the given threat (None ε: the largest l∞)."""
        found = [
            m
            for m in self.specs.values()
            if m.is_plain and m.arch_name == spec.arch_name and m.seed == spec.seed and (norm is None or m.norm == norm)
        ]
        if epsilon is not None:
            found = [m for m in found if m.epsilon == epsilon]
        else:
            found = [m for m in found if m.norm == "linf" and not m.is_standard]
        return max(found, key=lambda m: m.epsilon).id if found else None

    def pruned(self) -> list[ModelSpec]:
        return [m for m in self.specs.values() if self.variant_settings.get(m.id, {}).get("prune")]

    def comparator(self, spec: ModelSpec) -> str | None:
        """The same fine-tuning of the same parent without pruning (the `finetuned` variant's role)."""
        found = [
            m.id
            for m in self.specs.values()
            if m.init_from == spec.init_from
            and m.seed == spec.seed
            and m.is_standard
            and m.variant
            and not self.variant_settings.get(m.id, {}).get("prune")
            and not self.variant_settings.get(m.id, {}).get("cutout")
        ]
        return found[0] if found else None
