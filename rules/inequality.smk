rule score_inequality:
    input:
        attributions="results/{dataset}/attributions/{model}/{method}.npz",
        test="results/{dataset}/data/test.npz",
        pool="results/{dataset}/data/pool.parquet",
    output:
        "results/{dataset}/inequality/{model}/{method}.parquet",
    log:
        "results/{dataset}/logs/score_inequality/{model}/{method}.log",
    params:
        transforms=list(EXP.transforms),
        settings=dataset_region_settings,
    script:
        "../workflow_scripts/score_inequality.py"
