"""The paper comparison's side of the workflow (rules/paper.smk): which of the run's tables can hold a
number of Duan et al., and the paper's name of the data set."""

from __future__ import annotations

from ineqbench.data import DATASETS


def comparison_tables(exp):
    """Table 1 and 2 are IG (the `ig` preset is the paper's IG), Table 3 the ablation, the clean accuracies
    of the robust-models-transfer README. Named inputs, so the job knows which table is which."""

    def tables(wildcards) -> dict:
        folder = f"{exp.results}/{wildcards.dataset}/tables"
        found = {"ablation": f"{folder}/ablation.csv", "models": f"{folder}/models.csv"}
        if "ig" in exp.methods:
            found["gini_ig"] = f"{folder}/gini_ig.csv"
        if "ig" in exp.attacks.methods:
            found["occlusion_ig"] = f"{folder}/occlusion_ig.csv"
            found["noise_ig"] = f"{folder}/noise_ig.csv"
        return found

    return tables


def paper_dataset(exp):
    def name(wildcards) -> str | None:
        return DATASETS.get(exp.datasets[wildcards.dataset].builder).paper_dataset

    return name
