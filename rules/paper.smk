# Duan et al. (2023) beside this run: every number of the paper's tables that a run's table can hold.

from ineqbench.data import DATASETS as DATASET_BUILDERS


def paper_comparison_tables(wildcards):
    """The run's tables that can hold a number of Duan et al.: Table 1 and 2 are IG (the `ig` preset
    is the paper's IG), Table 3 the ablation, the clean accuracies of the robust-models-transfer README.
    Named inputs, so the job knows which table is which."""
    tables = {"ablation": f"results/{wildcards.dataset}/tables/ablation.csv",
              "models": f"results/{wildcards.dataset}/tables/models.csv"}
    if "ig" in METHODS:
        tables["gini_ig"] = f"results/{wildcards.dataset}/tables/gini_ig.csv"
    if "ig" in EXP.attacks.methods:
        tables["occlusion_ig"] = f"results/{wildcards.dataset}/tables/occlusion_ig.csv"
        tables["noise_ig"] = f"results/{wildcards.dataset}/tables/noise_ig.csv"
    return tables


def paper_dataset_of(wildcards):
    return DATASET_BUILDERS.get(EXP.datasets[wildcards.dataset].builder).paper_dataset


rule compare_with_paper:
    input:
        unpack(paper_comparison_tables),
    output:
        csv="results/{dataset}/tables/paper_comparison.csv",
        md=report("results/{dataset}/tables/paper_comparison.md", caption="../report/paper_comparison.rst",
                  category="Paper vs this run", subcategory="{dataset}"),
    log:
        "results/{dataset}/logs/compare_with_paper.log",
    params:
        paper_dataset=paper_dataset_of,
    script:
        "../workflow_scripts/compare_with_paper.py"


@stage_targets
def paper_targets(dataset):
    return [f"results/{dataset}/tables/paper_comparison.md"]
