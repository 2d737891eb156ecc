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


rule aggregate_noise:
    input:
        noise=noise_of_method,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/noise_{method}.csv",
        md=report("results/{dataset}/tables/noise_{method}.md", caption="../report/noise_table.rst",
                  category="Figure 3: inductive noise", subcategory="{dataset}",
                  labels={"method": "{method}", "kind": "table"}),
        tex="results/{dataset}/tables/noise_{method}.tex",
        figure=report("results/{dataset}/figures/noise_vs_k_{method}.png", caption="../report/noise_curves.rst",
                      category="Figure 3: inductive noise", subcategory="{dataset}",
                      labels={"method": "{method}", "kind": "plot"}),
    log:
        "results/{dataset}/logs/aggregate_noise/{method}.log",
    params:
        models=dataset_models,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_noise.py"


rule aggregate_occlusion:
    input:
        occlusion=occlusion_of_method,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/occlusion_{method}.csv",
        md=report("results/{dataset}/tables/occlusion_{method}.md", caption="../report/occlusion_table.rst",
                  category="Table 2: inductive occlusion", subcategory="{dataset}",
                  labels={"method": "{method}", "kind": "table"}),
        tex="results/{dataset}/tables/occlusion_{method}.tex",
    log:
        "results/{dataset}/logs/aggregate_occlusion/{method}.log",
    params:
        models=dataset_models,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_occlusion.py"


rule plot_occlusion_examples:
    input:
        occlusion=occlusion_of_method,
        attributions=attributions_of_method,
        cards=cards_of_dataset,
        selection="results/{dataset}/tables/selection.parquet",
        info="results/{dataset}/data/dataset.json",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        report("results/{dataset}/figures/occlusion_examples_{method}.png", caption="../report/occlusion_examples.rst",
               category="Table 2: inductive occlusion", subcategory="{dataset}",
               labels={"method": "{method}", "kind": "examples"}),
    log:
        "results/{dataset}/logs/plot_occlusion_examples/{method}.log",
    params:
        models=dataset_models,
        settings=EXP.attacks.occlusion,
        dataset=dataset_occlusion_settings,
        n_images=EXP.report["figure_images"],
    script:
        "../workflow_scripts/plot_occlusion_examples.py"


rule aggregate_ablation:
    input:
        scores=scores_of_attacked_methods,
        noise=noise_of_attacked_methods,
        occlusion=occlusion_of_attacked_methods,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/ablation.csv",
        md=report("results/{dataset}/tables/ablation.md", caption="../report/ablation_table.rst",
                  category="Table 3: attribution methods", subcategory="{dataset}"),
        tex="results/{dataset}/tables/ablation.tex",
    log:
        "results/{dataset}/logs/aggregate_ablation.log",
    params:
        models=dataset_models,
        methods=list(EXP.attacks.methods),
        noise_budget=EXP.attacks.noise_table_budget,
        dataset=dataset_occlusion_settings,
        transform=EXP.transforms[0],
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_ablation.py"


rule aggregate_transfer:
    input:
        transfers=transfers_of_method,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=cards_of_dataset,
    output:
        csv="results/{dataset}/tables/transfer_{method}.csv",
        md=report("results/{dataset}/tables/transfer_{method}.md", caption="../report/transfer_table.rst",
                  category="Table 4: transferability", subcategory="{dataset}", labels={"method": "{method}"}),
        tex="results/{dataset}/tables/transfer_{method}.tex",
    log:
        "results/{dataset}/logs/aggregate_transfer/{method}.log",
    params:
        models=dataset_models,
        pairs=transfer_pairs_of_dataset,
    script:
        "../workflow_scripts/aggregate_transfer.py"


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
