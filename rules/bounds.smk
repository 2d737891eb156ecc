# Worst-case attribution deviation (Wang & Kong): bounds per (model, method), checked by attacks, and
# their tables and figures with the link to the Gini index (docs/attribution_bounds.md).

BOUND_METHODS_RE = "|".join(BOUND_METHODS) or "^$"


def bound_method_spec(wildcards):
    return EXP.bounds.methods[wildcards.method].as_dict()


def bounded_models(wildcards):
    return EXP.bounds.model_ids(wildcards.dataset)


def _bounds_of_dataset(wildcards):
    return {method: {m: f"results/{wildcards.dataset}/bounds/{m}/{method}.parquet" for m in bounded_models(wildcards)}
            for method in BOUND_METHODS}


BOUNDS = ByName(_bounds_of_dataset)
BOUNDED_CARDS = per_model("results/{dataset}/models/{model}.json", models=bounded_models)


rule bound_attribution:
    input:
        weights="results/{dataset}/models/{model}.safetensors",
        card="results/{dataset}/models/{model}.json",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/bounds/{model}/{method}.parquet",
    log:
        "results/{dataset}/logs/bound_attribution/{model}/{method}.log",
    benchmark:
        "results/{dataset}/benchmarks/bound_attribution/{model}/{method}.tsv"
    params:
        method=bound_method_spec,
        settings=EXP.bounds.settings,
        dataset=dataset_region_settings,
    wildcard_constraints:
        method=BOUND_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
        runtime=720,  # minutes, one model and method at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/bound_attribution.py"


rule aggregate_bounds:
    input:
        bounds=BOUNDS.input,
        cards=BOUNDED_CARDS.input,
    output:
        csv="results/{dataset}/tables/bounds.csv",
        md=report("results/{dataset}/tables/bounds.md", caption="../report/bounds_table.rst",
                  category="Attribution bounds", subcategory="{dataset}", labels={"kind": "table", "what": "bounds"}),
        tex="results/{dataset}/tables/bounds.tex",
        images="results/{dataset}/tables/bounds_images.csv",
        gini_csv="results/{dataset}/tables/bounds_gini.csv",
        gini_md=report("results/{dataset}/tables/bounds_gini.md", caption="../report/bounds_gini.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "table", "what": "Gini and deviation"}),
        scatter=report("results/{dataset}/figures/bounds_scatter.png", caption="../report/bounds_figures.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "plot", "what": "bound vs attack"}),
        epsilon=report("results/{dataset}/figures/bounds_epsilon.png", caption="../report/bounds_figures.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "plot", "what": "bound and attack vs epsilon"}),
        gini_figure=report("results/{dataset}/figures/bounds_gini.png", caption="../report/bounds_gini.rst",
                           category="Attribution bounds", subcategory="{dataset}",
                           labels={"kind": "plot", "what": "Gini and deviation"}),
    log:
        "results/{dataset}/logs/aggregate_bounds.log",
    params:
        bounds=BOUNDS.param,
        cards=BOUNDED_CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_bounds.py"


@stage_targets
def bounds_targets(dataset):
    if not EXP.bounds.model_ids(dataset):
        return []
    return [f"results/{dataset}/tables/bounds.md", f"results/{dataset}/tables/bounds_gini.md"]
