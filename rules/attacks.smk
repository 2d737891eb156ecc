# The attack stage (Duan et al. 3.2: Tables 2 to 4, Figures 3 and 4) and its random-region control.
# Each attack family (ineqbench.attacks.families) has its rule here; the transfer and the ablation take
# the rows of every enabled family, by name.

from ineqbench.attacks.families import ATTACK_FAMILIES

FAMILIES = EXP.attacks.families  # enabled family -> its settings
ATTACK_METHODS = list(EXP.attacks.methods)
ATTACK_METHODS_RE = "|".join(ATTACK_METHODS) or "^$"


def family_rows(family, dataset, model, method):
    """Where a family's rows of one model are stored: per method when the family is guided by the maps."""
    if ATTACK_FAMILIES.get(family).guided:
        return f"results/{dataset}/{family}/{model}/{method}.parquet"
    return f"results/{dataset}/{family}/{model}.parquet"


def attack_context(dataset):
    data = EXP.datasets[dataset]
    return {"region_size": data.region_size, "budgets": [dict(b) for b in data.occlusion_budgets],
            "noise_budget": str(EXP.attacks.noise_table_budget)}


def family_context(family):
    """Only the context fields the family's run reads, so that changing another field reruns nothing of it."""
    def context(wildcards):
        full = attack_context(wildcards.dataset)
        return {name: full[name] for name in ATTACK_FAMILIES.get(family).context}
    return context


def full_context(wildcards):
    return attack_context(wildcards.dataset)


def _transfer_rows(wildcards):
    return {f: family_rows(f, wildcards.dataset, wildcards.source, wildcards.method) for f in FAMILIES}


def _table_rows(table):
    def rows(wildcards):
        return {f: {m: family_rows(f, wildcards.dataset, m, wildcards.method) for m in EXP.model_ids(wildcards.dataset)}
                for f in FAMILIES if ATTACK_FAMILIES.get(f).table == table}
    return rows


def _ablation_rows(wildcards):
    models = EXP.model_ids(wildcards.dataset)
    return {f: {method: {m: family_rows(f, wildcards.dataset, m, method) for m in models} for method in ATTACK_METHODS}
            for f in FAMILIES}


def _ablation_scores(wildcards):
    return {method: {m: f"results/{wildcards.dataset}/inequality/{m}/{method}.parquet"
                     for m in EXP.model_ids(wildcards.dataset)} for method in ATTACK_METHODS}


def _transfers(wildcards):
    transfers = {}
    for source, target in EXP.attacks.transfer_pairs[wildcards.dataset]:
        path = f"results/{wildcards.dataset}/transfer/{source}/{target}/{wildcards.method}.parquet"
        transfers.setdefault(source, {})[target] = path
    return transfers


TRANSFER_ROWS = ByName(_transfer_rows)
NOISE_TABLE_ROWS = ByName(_table_rows("noise"))
OCCLUSION_TABLE_ROWS = ByName(_table_rows("occlusion"))
OCCLUSION_ROWS = per_model("results/{dataset}/occlusion/{model}/{method}.parquet")
ABLATION_ROWS = ByName(_ablation_rows)
ABLATION_SCORES = ByName(_ablation_scores)
TRANSFERS = ByName(_transfers)


rule attack_noise:
    input:
        weights="results/{dataset}/models/{model}.safetensors",
        card="results/{dataset}/models/{model}.json",
        attributions="results/{dataset}/attributions/{model}/{method}.npz",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/noise/{model}/{method}.parquet",
    log:
        "results/{dataset}/logs/attack_noise/{model}/{method}.log",
    benchmark:
        "results/{dataset}/benchmarks/attack_noise/{model}/{method}.tsv"
    params:
        settings=FAMILIES.get("noise", {}),
        context=family_context("noise"),
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
        weights="results/{dataset}/models/{model}.safetensors",
        card="results/{dataset}/models/{model}.json",
        attributions="results/{dataset}/attributions/{model}/{method}.npz",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/occlusion/{model}/{method}.parquet",
    log:
        "results/{dataset}/logs/attack_occlusion/{model}/{method}.log",
    benchmark:
        "results/{dataset}/benchmarks/attack_occlusion/{model}/{method}.tsv"
    params:
        settings=FAMILIES.get("occlusion", {}),
        context=family_context("occlusion"),
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
        weights="results/{dataset}/models/{model}.safetensors",
        card="results/{dataset}/models/{model}.json",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/random_occlusion/{model}.parquet",
    log:
        "results/{dataset}/logs/attack_random_occlusion/{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/attack_random_occlusion/{model}.tsv"
    params:
        settings=FAMILIES.get("random_occlusion", {}),
        context=family_context("random_occlusion"),
    threads: 1
    resources:
        gpu=1,
        runtime=240,
    script:
        "../workflow_scripts/attack_random_occlusion.py"


rule transfer_attacks:
    input:
        source_weights="results/{dataset}/models/{source}.safetensors",
        source_card="results/{dataset}/models/{source}.json",
        source_attributions="results/{dataset}/attributions/{source}/{method}.npz",
        source_rows=TRANSFER_ROWS.input,
        target_weights="results/{dataset}/models/{target}.safetensors",
        target_card="results/{dataset}/models/{target}.json",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/transfer/{source}/{target}/{method}.parquet",
    log:
        "results/{dataset}/logs/transfer_attacks/{source}/{target}/{method}.log",
    params:
        source_rows=TRANSFER_ROWS.param,
        settings=FAMILIES,
        context=full_context,
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
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=CARDS.input,
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
        rows=NOISE_TABLE_ROWS.param,
        cards=CARDS.param,
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_noise.py"


rule aggregate_occlusion:
    input:
        rows=OCCLUSION_TABLE_ROWS.input,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="results/{dataset}/tables/occlusion_{method}.csv",
        md=report("results/{dataset}/tables/occlusion_{method}.md", caption="../report/occlusion_table.rst",
                  category="Table 2: inductive occlusion", subcategory="{dataset}",
                  labels={"method": "{method}", "kind": "table"}),
        tex="results/{dataset}/tables/occlusion_{method}.tex",
    log:
        "results/{dataset}/logs/aggregate_occlusion/{method}.log",
    params:
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
        occlusion=OCCLUSION_ROWS.param,
        attributions=ATTRIBUTIONS.param,
        cards=CARDS.param,
        settings=FAMILIES.get("occlusion", {}),
        context=family_context("occlusion"),
        n_images=EXP.report["figure_images"],
    script:
        "../workflow_scripts/plot_occlusion_examples.py"


rule aggregate_ablation:
    input:
        scores=ABLATION_SCORES.input,
        rows=ABLATION_ROWS.input,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="results/{dataset}/tables/ablation.csv",
        md=report("results/{dataset}/tables/ablation.md", caption="../report/ablation_table.rst",
                  category="Table 3: attribution methods", subcategory="{dataset}"),
        tex="results/{dataset}/tables/ablation.tex",
    log:
        "results/{dataset}/logs/aggregate_ablation.log",
    params:
        scores=ABLATION_SCORES.param,
        rows=ABLATION_ROWS.param,
        cards=CARDS.param,
        context=full_context,
        transform=EXP.transforms[0],
        n_boot=EXP.report["bootstrap_samples"],
        seed=EXP.seed,
    script:
        "../workflow_scripts/aggregate_ablation.py"


rule aggregate_transfer:
    input:
        transfers=TRANSFERS.input,
        selection="results/{dataset}/tables/selection.parquet",
        selection_info="results/{dataset}/tables/selection.json",
        cards=CARDS.input,
    output:
        csv="results/{dataset}/tables/transfer_{method}.csv",
        md=report("results/{dataset}/tables/transfer_{method}.md", caption="../report/transfer_table.rst",
                  category="Table 4: transferability", subcategory="{dataset}", labels={"method": "{method}"}),
        tex="results/{dataset}/tables/transfer_{method}.tex",
    log:
        "results/{dataset}/logs/aggregate_transfer/{method}.log",
    params:
        transfers=TRANSFERS.param,
        cards=CARDS.param,
    script:
        "../workflow_scripts/aggregate_transfer.py"


@stage_targets
def attack_targets(dataset):
    tables = sorted({ATTACK_FAMILIES.get(f).table for f in FAMILIES})
    targets = []
    for method in ATTACK_METHODS:
        targets += [f"results/{dataset}/tables/{table}_{method}.md" for table in tables]
        if "occlusion" in FAMILIES:
            targets.append(f"results/{dataset}/figures/occlusion_examples_{method}.png")
    if ATTACK_METHODS and FAMILIES:
        targets.append(f"results/{dataset}/tables/ablation.md")
    targets += [f"results/{dataset}/tables/transfer_{method}.md" for method in EXP.attacks.transfer_methods]
    return targets
