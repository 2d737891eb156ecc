"""The attack stage's side of the workflow (rules/attacks.smk): where each family's rows live, the
context each job gets, the named inputs of the transfer and the aggregations, the stage's final
targets. Plain functions of the validated experiment and the job's wildcards, so the rules file holds
rules only."""

from __future__ import annotations

from ineqbench.attacks.settings import ATTACK_FAMILIES


def family_rows(exp, family: str, dataset: str, model: str, method: str) -> str:
    """Where a family's rows of one model are stored: per method when the family is guided by the maps."""
    if ATTACK_FAMILIES.get(family).guided:
        return f"{exp.results}/{dataset}/{family}/{model}/{method}.parquet"
    return f"{exp.results}/{dataset}/{family}/{model}.parquet"


def attack_context(exp, dataset: str) -> dict:
    data = exp.datasets[dataset]
    return {
        "region_size": data.region_size,
        "budgets": [dict(b) for b in data.occlusion_budgets],
        "noise_budget": str(exp.attacks.noise_table_budget),
    }


def family_context(exp, family: str):
    """Only the context fields the family's run reads, so that changing another reruns nothing of it."""

    def context(wildcards) -> dict:
        full = attack_context(exp, wildcards.dataset)
        return {name: full[name] for name in ATTACK_FAMILIES.get(family).context}

    return context


def full_context(exp):
    def context(wildcards) -> dict:
        return attack_context(exp, wildcards.dataset)

    return context


def transfer_rows(exp):
    """{family: the source's rows} of one transfer job."""

    def rows(wildcards) -> dict:
        w = wildcards
        return {f: family_rows(exp, f, w.dataset, w.source, w.method) for f in exp.attacks.families}

    return rows


def table_rows(exp, table: str):
    """{family: {model: rows}} of every family whose rows join `table` ("noise" or "occlusion")."""

    def rows(wildcards) -> dict:
        models = exp.model_ids(wildcards.dataset, wildcards.method)
        return {
            f: {m: family_rows(exp, f, wildcards.dataset, m, wildcards.method) for m in models}
            for f in exp.attacks.families
            if ATTACK_FAMILIES.get(f).table == table
        }

    return rows


def ablation_rows(exp):
    """{family: {method: {model: rows}}} of the ablation (a family not guided by the maps repeats its
    rows under every method)."""

    def rows(wildcards) -> dict:
        return {
            f: {
                method: {
                    m: family_rows(exp, f, wildcards.dataset, m, method)
                    for m in exp.model_ids(wildcards.dataset, method)
                }
                for method in exp.attacks.methods
            }
            for f in exp.attacks.families
        }

    return rows


def ablation_scores(exp):
    """{method: {model: Gini scores}} of the ablation: the inequality stage's outputs, read as files."""

    def scores(wildcards) -> dict:
        return {
            method: {
                m: f"{exp.results}/{wildcards.dataset}/inequality/{m}/{method}.parquet"
                for m in exp.model_ids(wildcards.dataset, method)
            }
            for method in exp.attacks.methods
        }

    return scores


def transfers(exp):
    """{source: {target: transfer rows}} of one method's transfer table."""

    def paths(wildcards) -> dict:
        found: dict[str, dict[str, str]] = {}
        for source, target in exp.attacks.transfer_pairs[wildcards.dataset]:
            path = f"{exp.results}/{wildcards.dataset}/transfer/{source}/{target}/{wildcards.method}.parquet"
            found.setdefault(source, {})[target] = path
        return found

    return paths


def targets(exp):
    """The stage's final outputs of a data set: its tables and figures per attacked method, the
    ablation, the transfer tables."""

    def of_dataset(dataset: str) -> list[str]:
        families = exp.attacks.families
        tables = sorted({ATTACK_FAMILIES.get(f).table for f in families})
        found = []
        for method in exp.attacks.methods:
            found += [f"{exp.results}/{dataset}/tables/{table}_{method}.md" for table in tables]
            if "occlusion" in families:
                found.append(f"{exp.results}/{dataset}/figures/occlusion_examples_{method}.png")
        if exp.attacks.methods and families:
            found.append(f"{exp.results}/{dataset}/tables/ablation.md")
        found += [f"{exp.results}/{dataset}/tables/transfer_{method}.md" for method in exp.attacks.transfer_methods]
        return found

    return of_dataset
