# Worst-case attribution deviation (Wang & Kong): bounds per (model, method), checked by attacks, and
# their tables and figures with the link to the Gini index (docs/attribution_bounds.md).

from ineqbench.bounds import workflow as bounds_workflow

BOUND_METHODS_RE = "|".join(BOUND_METHODS) or "^$"
BOUNDS = ByName(bounds_workflow.bound_rows(EXP))
BOUNDED_CARDS = per_model("<results>/{dataset}/models/{model}.json", models=bounds_workflow.bounded_models(EXP))
stage_targets(bounds_workflow.targets(EXP))


rule bound_attribution:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/bounds/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/bound_attribution/{model}/{method}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/bound_attribution/{model}/{method}.tsv"
    params:
        code=code_of("bound_attribution"),
        method=bounds_workflow.method_spec(EXP),
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
        csv="<results>/{dataset}/tables/bounds.csv",
        md=report("<results>/{dataset}/tables/bounds.md", caption="../report/bounds_table.rst",
                  category="Attribution bounds", subcategory="{dataset}", labels={"kind": "table", "what": "bounds"}),
        tex="<results>/{dataset}/tables/bounds.tex",
        images="<results>/{dataset}/tables/bounds_images.csv",
        gini_csv="<results>/{dataset}/tables/bounds_gini.csv",
        gini_md=report("<results>/{dataset}/tables/bounds_gini.md", caption="../report/bounds_gini.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "table", "what": "Gini and deviation"}),
        scatter=report("<results>/{dataset}/figures/bounds_scatter.png", caption="../report/bounds_figures.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "plot", "what": "bound vs attack"}),
        epsilon=report("<results>/{dataset}/figures/bounds_epsilon.png", caption="../report/bounds_figures.rst",
                       category="Attribution bounds", subcategory="{dataset}",
                       labels={"kind": "plot", "what": "bound and attack vs epsilon"}),
        gini_figure=report("<results>/{dataset}/figures/bounds_gini.png", caption="../report/bounds_gini.rst",
                           category="Attribution bounds", subcategory="{dataset}",
                           labels={"kind": "plot", "what": "Gini and deviation"}),
    log:
        "<results>/{dataset}/logs/aggregate_bounds.log",
    params:
        code=code_of("aggregate_bounds"),
        bounds=BOUNDS.param,
        cards=BOUNDED_CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_bounds.py"
