"""The bounds stage's side of the workflow (rules/bounds.smk): each job's method spec, the bounded
models, the named inputs of the tables, the stage's final targets."""

from __future__ import annotations


def method_spec(exp):
    def spec(wildcards) -> dict:
        return exp.bounds.methods[wildcards.method].as_dict()

    return spec


def bounded_models(exp):
    def models(wildcards) -> list[str]:
        return exp.bounds.model_ids(wildcards.dataset)

    return models


def bound_rows(exp):
    """{method: {model: bound rows}} of a data set."""

    def rows(wildcards) -> dict:
        models = exp.bounds.model_ids(wildcards.dataset)
        return {
            method: {m: f"{exp.results}/{wildcards.dataset}/bounds/{m}/{method}.parquet" for m in models}
            for method in exp.bounds.methods
        }

    return rows


def targets(exp):
    def of_dataset(dataset: str) -> list[str]:
        if not exp.bounds.model_ids(dataset):
            return []
        return [f"{exp.results}/{dataset}/tables/bounds.md", f"{exp.results}/{dataset}/tables/bounds_gini.md"]

    return of_dataset
