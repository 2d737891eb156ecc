rule prepare_dataset:
    output:
        train="<results>/{dataset}/data/train.npz",
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
        info="<results>/{dataset}/data/dataset.json",
    log:
        "<results>/{dataset}/logs/prepare_dataset.log",
    params:
        code=code_of("prepare_dataset"),
        settings=dataset_build_settings,
        seed=EXP.seed,
    script:
        "../workflow_scripts/prepare_dataset.py"
