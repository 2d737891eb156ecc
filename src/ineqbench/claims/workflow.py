"""The claims' side of the workflow (rules/claims.smk): the per-image outputs a data set's claims read,
by name, and the settings they are read under. Plain functions of the validated experiment."""

from __future__ import annotations

from ineqbench.attacks.workflow import family_rows
from ineqbench.families.workflow import table_method


def claim_inputs(exp):
    """{kind: {method: {model: path}}} for Gini scores and each enabled attack family (a family not
    guided by the maps keyed by the table method), {"transfer": {source: {target: path}}} of the table
    method, {"bounds": {method: {model: path}}}."""

    def inputs(wildcards) -> dict:
        dataset = wildcards.dataset
        found: dict = {"scores": {}, "transfer": {}, "bounds": {}}
        for method in exp.attacks.methods:
            found["scores"][method] = {
                m: f"{exp.results}/{dataset}/inequality/{m}/{method}.parquet" for m in exp.model_ids(dataset, method)
            }
        for family in exp.attacks.families:
            found[family] = {
                method: {m: family_rows(exp, family, dataset, m, method) for m in exp.model_ids(dataset, method)}
                for method in exp.attacks.methods
            }
        method = transfer_method(exp)
        for source, target in exp.attacks.transfer_pairs.get(dataset, ()) if method else ():
            found["transfer"].setdefault(source, {})[target] = (
                f"{exp.results}/{dataset}/transfer/{source}/{target}/{method}.parquet"
            )
        for method in exp.bounds.methods:
            found["bounds"][method] = {
                m: f"{exp.results}/{dataset}/bounds/{m}/{method}.parquet" for m in exp.bounds.model_ids(dataset)
            }
        return found

    return inputs


def transfer_method(exp) -> str | None:
    """The table method when its transfer runs, else the first transferred method (None: no transfer)."""
    methods = exp.attacks.transfer_methods
    if not methods:
        return None
    return table_method(exp) if table_method(exp) in methods else methods[0]


def claim_settings(exp) -> dict:
    return {
        "method": table_method(exp) if exp.attacks.methods else exp.report["table_method"],
        "transform": exp.transforms[0],
        "noise_budget": str(exp.attacks.noise_table_budget),
        "n_boot": exp.report["bootstrap_samples"],
        "seed": exp.seed,
    }


def occlusion_budget(exp):
    """The label of the data set's first occlusion budget (the tables' "N=5, R=2"), None without occlusion."""

    def label(wildcards) -> str | None:
        if "occlusion" not in exp.attacks.families:
            return None
        first = exp.datasets[wildcards.dataset].occlusion_budgets[0]
        return f"N={first['regions']}, R={first['radius']}"

    return label


def targets(exp):
    def of_dataset(dataset: str) -> list[str]:
        return [f"{exp.results}/{dataset}/tables/claims.md"]

    return of_dataset
