rule select_images:
    input:
        predictions=predictions_of_dataset,
    output:
        selection="results/{dataset}/tables/selection.parquet",
        info="results/{dataset}/tables/selection.json",
    log:
        "results/{dataset}/logs/select_images.log",
    params:
        models=dataset_models,
        settings=dataset_selection_settings,
    script:
        "../workflow_scripts/select_images.py"


rule aggregate_models:
    input:
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/models.csv",
        md=report("results/{dataset}/tables/models.md", caption="../report/models.rst", category="Models",
                  subcategory="{dataset}"),
    log:
        "results/{dataset}/logs/aggregate_models.log",
    params:
        models=dataset_models,
    script:
        "../workflow_scripts/aggregate_models.py"


rule aggregate_gini:
    input:
        scores=scores_of_method,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/gini_{method}.csv",
        md=report("results/{dataset}/tables/gini_{method}.md", caption="../report/gini_table.rst",
                  category="Table 1: Gini", subcategory="{dataset}", labels={"method": "{method}", "kind": "table"}),
        tex="results/{dataset}/tables/gini_{method}.tex",
        figure=report("results/{dataset}/figures/gini_vs_eps_{method}.png", caption="../report/gini_vs_eps.rst",
                      category="Table 1: Gini", subcategory="{dataset}", labels={"method": "{method}", "kind": "plot"}),
    log:
        "results/{dataset}/logs/aggregate_gini/{method}.log",
    params:
        models=dataset_models,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_gini.py"


rule plot_attribution_maps:
    input:
        attributions=attributions_of_method,
        scores=scores_of_method,
        cards=cards_of_dataset,
        selection="results/{dataset}/tables/selection.parquet",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        report("results/{dataset}/figures/attribution_maps_{method}.png", caption="../report/attribution_maps.rst",
               category="Figure 2: attribution maps", subcategory="{dataset}", labels={"method": "{method}"}),
    log:
        "results/{dataset}/logs/plot_attribution_maps/{method}.log",
    params:
        models=dataset_models,
        n_images=EXP.report["figure_images"],
    script:
        "../workflow_scripts/plot_attribution_maps.py"
