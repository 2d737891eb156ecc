"""The families' side of the workflow (rules/families.smk): which families a data set has, their models,
and the tables each family's job reads. Plain functions of the validated experiment and the wildcards."""

from __future__ import annotations

from ineqbench.attacks.settings import parse_budget
from ineqbench.families.settings import FAMILIES, family_models

__all__ = ["FAMILIES", "families_of", "family_members", "family_settings", "stage_tables", "table_method", "targets"]


def families_of(exp, dataset: str) -> dict[str, list[str]]:
    """{family: its models and their references} of a data set; none when the attacks its table shows
    (noise and occlusion, guided by some method) do not run."""
    if not exp.attacks.methods or not {"noise", "occlusion"} <= set(exp.attacks.families):
        return {}
    return family_models(exp.models_of(dataset), exp.variants)


def table_method(exp) -> str:
    """The report's table method when the attacks ran on it, else the first attacked method."""
    method = exp.report["table_method"]
    return method if method in exp.attacks.methods else exp.attacks.methods[0]


def targets(exp):
    def of_dataset(dataset: str) -> list[str]:
        return [f"{exp.results}/{dataset}/tables/family_{name}.md" for name in families_of(exp, dataset)]

    return of_dataset


def family_members(exp):
    def members(wildcards) -> list[str]:
        return families_of(exp, wildcards.dataset)[wildcards.family]

    return members


def stage_tables(exp):
    """The tables a family table reads, by name: the models table and the table method's gini, occlusion
    and noise tables."""

    def tables(wildcards) -> dict:
        folder = f"{exp.results}/{wildcards.dataset}/tables"
        kinds = {kind: f"{folder}/{kind}_{table_method(exp)}.csv" for kind in ("gini", "occlusion", "noise")}
        return {"models": f"{folder}/models.csv", **kinds}

    return tables


def family_settings(exp) -> dict:
    """What every family table reads the stages' tables under: the table method, the first
    inequality transform (Table 1's) and the noise table budget (Tables 3 and 4)."""
    return {
        "method": table_method(exp),
        "transform": exp.transforms[0],
        "noise_budget": parse_budget(exp.attacks.noise_table_budget),
    }
