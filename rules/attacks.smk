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
        settings=NOISE_SETTINGS,
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
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
        settings=EXP.attacks.occlusion,
        dataset=dataset_occlusion_settings,
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
    script:
        "../workflow_scripts/attack_occlusion.py"


rule transfer_attacks:
    input:
        source_weights="results/{dataset}/models/{source}.safetensors",
        source_card="results/{dataset}/models/{source}.json",
        source_attributions="results/{dataset}/attributions/{source}/{method}.npz",
        source_noise="results/{dataset}/noise/{source}/{method}.parquet",
        source_occlusion="results/{dataset}/occlusion/{source}/{method}.parquet",
        target_weights="results/{dataset}/models/{target}.safetensors",
        target_card="results/{dataset}/models/{target}.json",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/transfer/{source}/{target}/{method}.parquet",
    log:
        "results/{dataset}/logs/transfer_attacks/{source}/{target}/{method}.log",
    params:
        noise=NOISE_SETTINGS,
        noise_budget=EXP.attacks.noise_table_budget,
        occlusion=EXP.attacks.occlusion,
        dataset=dataset_region_settings,
    wildcard_constraints:
        method=ATTACK_METHODS_RE,
    threads: 1
    resources:
        gpu=1,
    script:
        "../workflow_scripts/transfer_attacks.py"
