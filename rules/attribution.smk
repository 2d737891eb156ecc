rule attribute:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/attributions/{model}/{method}.npz",
    log:
        "<results>/{dataset}/logs/attribute/{model}/{method}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/attribute/{model}/{method}.tsv"
    params:
        code=code_of("attribute"),
        method=method_settings,
        seed=EXP.seed,
        options=EXP.attribution_options,
    threads: 1
    resources:
        gpu=1,
        runtime=240,  # minutes, one model and method at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/attribute.py"
