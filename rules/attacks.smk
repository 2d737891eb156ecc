# The attack stage (Duan et al. 3.2: Tables 2 to 4, Figures 3 and 4) and its random-region control.
# Each attack family (ineqbench.attacks.families) has its rule here; the transfer and the ablation take
# the rows of every enabled family, by name.

from ineqbench.attacks import workflow as attack_workflow

FAMILIES = EXP.attacks.families  # enabled family -> its settings
ATTACK_METHODS_RE = "|".join(EXP.attacks.methods) or "^$"

TRANSFER_ROWS = ByName(attack_workflow.transfer_rows(EXP))
NOISE_TABLE_ROWS = ByName(attack_workflow.table_rows(EXP, "noise"))
OCCLUSION_TABLE_ROWS = ByName(attack_workflow.table_rows(EXP, "occlusion"))
OCCLUSION_ROWS = per_model("<results>/{dataset}/occlusion/{model}/{method}.parquet")
ABLATION_ROWS = ByName(attack_workflow.ablation_rows(EXP))
ABLATION_SCORES = ByName(attack_workflow.ablation_scores(EXP))
TRANSFERS = ByName(attack_workflow.transfers(EXP))
stage_targets(attack_workflow.targets(EXP))


rule attack_noise:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        attributions="<results>/{dataset}/attributions/{model}/{method}.npz",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/noise/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/attack_noise/{model}/{method}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/attack_noise/{model}/{method}.tsv"
    params:
        code=code_of("attack_noise"),
        settings=FAMILIES.get("noise", {}),
        context=attack_workflow.family_context(EXP, "noise"),
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
        runtime=120,  # minutes, one model and method at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/attack_noise.py"


rule attack_occlusion:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        attributions="<results>/{dataset}/attributions/{model}/{method}.npz",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/occlusion/{model}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/attack_occlusion/{model}/{method}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/attack_occlusion/{model}/{method}.tsv"
    params:
        code=code_of("attack_occlusion"),
        settings=FAMILIES.get("occlusion", {}),
        context=attack_workflow.family_context(EXP, "occlusion"),
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
        runtime=240,
    script:
        "../workflow_scripts/attack_occlusion.py"


# The control: N regions drawn uniformly instead of ranked; no attribution read, one job per model.
rule attack_random_occlusion:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/random_occlusion/{model}.parquet",
    log:
        "<results>/{dataset}/logs/attack_random_occlusion/{model}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/attack_random_occlusion/{model}.tsv"
    params:
        code=code_of("attack_random_occlusion"),
        settings=FAMILIES.get("random_occlusion", {}),
        context=attack_workflow.family_context(EXP, "random_occlusion"),
    threads: 1
    resources:
        gpu=1,
        runtime=240,
    script:
        "../workflow_scripts/attack_random_occlusion.py"


rule transfer_attacks:
    input:
        source_weights="<results>/{dataset}/models/{source}.safetensors",
        source_record=model_record_of("source"),
        source_attributions="<results>/{dataset}/attributions/{source}/{method}.npz",
        source_rows=TRANSFER_ROWS.input,
        target_weights="<results>/{dataset}/models/{target}.safetensors",
        target_record=model_record_of("target"),
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/transfer/{source}/{target}/{method}.parquet",
    log:
        "<results>/{dataset}/logs/transfer_attacks/{source}/{target}/{method}.log",
    params:
        code=code_of("transfer_attacks"),
        source_rows=TRANSFER_ROWS.param,
        settings=FAMILIES,
        context=attack_workflow.full_context(EXP),
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
        runtime=120,
    script:
        "../workflow_scripts/transfer_attacks.py"


rule aggregate_noise:
    input:
        rows=NOISE_TABLE_ROWS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/noise_{method}.csv",
        md=report("<results>/{dataset}/tables/noise_{method}.md", caption="../report/noise_table.rst",
                  category="Figure 3: inductive noise", subcategory="{dataset}",
                  labels={"method": "{method}", "kind": "table"}),
        tex="<results>/{dataset}/tables/noise_{method}.tex",
        figure=report("<results>/{dataset}/figures/noise_vs_k_{method}.png", caption="../report/noise_curves.rst",
                      category="Figure 3: inductive noise", subcategory="{dataset}",
                      labels={"method": "{method}", "kind": "plot"}),
    log:
        "<results>/{dataset}/logs/aggregate_noise/{method}.log",
    params:
        code=code_of("aggregate_noise"),
        rows=NOISE_TABLE_ROWS.param,
        cards=CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_noise.py"


rule aggregate_occlusion:
    input:
        rows=OCCLUSION_TABLE_ROWS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/occlusion_{method}.csv",
        md=report("<results>/{dataset}/tables/occlusion_{method}.md", caption="../report/occlusion_table.rst",
                  category="Table 2: inductive occlusion", subcategory="{dataset}",
                  labels={"method": "{method}", "kind": "table"}),
        tex="<results>/{dataset}/tables/occlusion_{method}.tex",
    log:
        "<results>/{dataset}/logs/aggregate_occlusion/{method}.log",
    params:
        code=code_of("aggregate_occlusion"),
        rows=OCCLUSION_TABLE_ROWS.param,
        cards=CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_occlusion.py"


rule plot_occlusion_examples:
    input:
        occlusion=OCCLUSION_ROWS.input,
        attributions=ATTRIBUTIONS.input,
        cards=CARDS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        info="<results>/{dataset}/data/dataset.json",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        report("<results>/{dataset}/figures/occlusion_examples_{method}.png", caption="../report/occlusion_examples.rst",
               category="Table 2: inductive occlusion", subcategory="{dataset}",
               labels={"method": "{method}", "kind": "examples"}),
    log:
        "<results>/{dataset}/logs/plot_occlusion_examples/{method}.log",
    params:
        code=code_of("plot_occlusion_examples"),
        occlusion=OCCLUSION_ROWS.param,
        attributions=ATTRIBUTIONS.param,
        cards=CARDS.param,
        settings=FAMILIES.get("occlusion", {}),
        context=attack_workflow.family_context(EXP, "occlusion"),
        n_images=EXP.report["figure_images"],
    script:
        "../workflow_scripts/plot_occlusion_examples.py"


rule aggregate_ablation:
    input:
        scores=ABLATION_SCORES.input,
        rows=ABLATION_ROWS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/ablation.csv",
        md=report("<results>/{dataset}/tables/ablation.md", caption="../report/ablation_table.rst",
                  category="Table 3: attribution methods", subcategory="{dataset}"),
        tex="<results>/{dataset}/tables/ablation.tex",
    log:
        "<results>/{dataset}/logs/aggregate_ablation.log",
    params:
        code=code_of("aggregate_ablation"),
        scores=ABLATION_SCORES.param,
        rows=ABLATION_ROWS.param,
        cards=CARDS.param,
        context=attack_workflow.full_context(EXP),
        transform=EXP.transforms[0],
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_ablation.py"


rule aggregate_transfer:
    input:
        transfers=TRANSFERS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/transfer_{method}.csv",
        md=report("<results>/{dataset}/tables/transfer_{method}.md", caption="../report/transfer_table.rst",
                  category="Table 4: transferability", subcategory="{dataset}", labels={"method": "{method}"}),
        tex="<results>/{dataset}/tables/transfer_{method}.tex",
    log:
        "<results>/{dataset}/logs/aggregate_transfer/{method}.log",
    params:
        code=code_of("aggregate_transfer"),
        transfers=TRANSFERS.param,
        cards=CARDS.param,
    script:
        "../workflow_scripts/aggregate_transfer.py"
