# The inequality stage (Duan et al. Table 1, Figure 2): the Gini index of every cached map, then the
# table over the selected images and the attribution-map figure.

stage_targets(lambda dataset: [f"{RESULTS}/{dataset}/{kind}_{method}.{ext}" for method in METHODS
                               for kind, ext in (("tables/gini", "md"), ("figures/attribution_maps", "png"))])


rule score_inequality:
    input:
        attributions="<results>/{dataset}/attributions/{model}/{method}.npz",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/inequality/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/score_inequality/{model}/{method}.log",
    params:
        code=code_of("score_inequality"),
        transforms=list(EXP.transforms),
        settings=dataset_region_settings,
    script:
        "../workflow_scripts/score_inequality.py"


rule aggregate_gini:
    input:
        scores=SCORES.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/gini_{method}.csv",
        md=report("<results>/{dataset}/tables/gini_{method}.md", caption="../report/gini_table.rst",
                  category="Table 1: Gini", subcategory="{dataset}", labels={"method": "{method}", "kind": "table"}),
        tex="<results>/{dataset}/tables/gini_{method}.tex",
        figure=report("<results>/{dataset}/figures/gini_vs_eps_{method}.png", caption="../report/gini_vs_eps.rst",
                      category="Table 1: Gini", subcategory="{dataset}", labels={"method": "{method}", "kind": "plot"}),
    log:
        "<results>/{dataset}/logs/aggregate_gini/{method}.log",
    params:
        code=code_of("aggregate_gini"),
        scores=SCORES.param,
        cards=CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_gini.py"


rule plot_attribution_maps:
    input:
        attributions=ATTRIBUTIONS.input,
        scores=SCORES.input,
        cards=CARDS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        report("<results>/{dataset}/figures/attribution_maps_{method}.png", caption="../report/attribution_maps.rst",
               category="Figure 2: attribution maps", subcategory="{dataset}", labels={"method": "{method}"}),
    log:
        "<results>/{dataset}/logs/plot_attribution_maps/{method}.log",
    params:
        code=code_of("plot_attribution_maps"),
        attributions=ATTRIBUTIONS.param,
        scores=SCORES.param,
        cards=CARDS.param,
        n_images=EXP.report["figure_images"],
    script:
        "../workflow_scripts/plot_attribution_maps.py"


# Per-class inequality (Duan et al. A.7, Tables 6 and 7), for the table method, over the pool or over the
# whole test split (inequality/per_class/images), correctly classified or not.
from ineqbench.inequality import workflow as inequality_workflow

stage_targets(lambda dataset: [f"{RESULTS}/{dataset}/tables/per_class_{EXP.report['table_method']}.md"]
              if inequality_workflow.per_class_models(EXP, dataset) else [])
PER_CLASS_SCORES = ByName(inequality_workflow.per_class_scores(EXP))


rule score_all_images:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
    output:
        "<results>/{dataset}/inequality_all/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/score_all_images/{model}/{method}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/score_all_images/{model}/{method}.tsv"
    params:
        code=code_of("score_all_images"),
        dataset=inequality_workflow.all_images_dataset(EXP),
        method=method_settings,
        settings=inequality_workflow.all_images_settings(EXP),
        region=dataset_region_settings,
        # finished shards, kept when the job is killed (a param, not an output: Snakemake deletes a failed
        # job's outputs); a rerun skips them
        shards=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/inequality_all/{wildcards.model}/{wildcards.method}.shards",
    threads: 1
    resources:
        gpu=1,
        runtime=720,  # minutes: 50,000 ImageNet images of one model at the Slurm time limit
    script:
        "../workflow_scripts/score_all_images.py"


rule aggregate_per_class:
    input:
        scores=PER_CLASS_SCORES.input,
        cards=CARDS.input,
        info="<results>/{dataset}/data/dataset.json",
    output:
        csv="<results>/{dataset}/tables/per_class_{method}.csv",
        md=report("<results>/{dataset}/tables/per_class_{method}.md", caption="../report/per_class.rst",
                  category="Per-class inequality", subcategory="{dataset}", labels={"method": "{method}", "kind": "table"}),
        figure=report("<results>/{dataset}/figures/per_class_{method}.png", caption="../report/per_class.rst",
                      category="Per-class inequality", subcategory="{dataset}", labels={"method": "{method}", "kind": "plot"}),
    log:
        "<results>/{dataset}/logs/aggregate_per_class/{method}.log",
    params:
        code=code_of("aggregate_per_class"),
        scores=PER_CLASS_SCORES.param,
        cards=CARDS.param,
        transform=EXP.transforms[0],
        images=EXP.raw["inequality"]["per_class"]["images"],
        top=5,
    script:
        "../workflow_scripts/aggregate_per_class.py"
