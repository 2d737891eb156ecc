rule train_model:
    input:
        unpack(init_checkpoint),
        train="<results>/{dataset}/data/train.npz",
        test="<results>/{dataset}/data/test.npz",
        info="<results>/{dataset}/data/dataset.json",
    output:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record="<results>/{dataset}/trained/{model}.json",
    log:
        "<results>/{dataset}/logs/train_model/{model}.log",
    benchmark:
        "<results>/{dataset}/benchmarks/train_model/{model}.tsv"
    params:
        code=code_of("train_model"),
        spec=model_spec,
        recipe=model_recipe,
        # per-epoch state for a resubmitted job (--retries); a param, not an output, because
        # Snakemake deletes the outputs of a failed job. The job removes it once the model is saved.
        resume=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/models/resume/{wildcards.model}.pt",
    wildcard_constraints:
        model=models_made_by("train_model"),
    threads: 1
    resources:
        gpu=1,
        runtime=720,  # minutes, one model at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/train_model.py"


rule predict:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        test="<results>/{dataset}/data/test.npz",
        pool="<results>/{dataset}/data/pool.parquet",
    output:
        "<results>/{dataset}/predictions/{model}.parquet",
    log:
        "<results>/{dataset}/logs/predict/{model}.log",
    params:
        code=code_of("predict"),
    threads: 1
    resources:
        gpu=1,
        runtime=30,  # minutes, one model at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/predict.py"


# Published weights: downloaded on the node that runs Snakemake (compute nodes often have no internet),
# checked against the architecture, then evaluated in a GPU job like a trained model.
rule fetch_checkpoint:
    input:
        info="<results>/{dataset}/data/dataset.json",
    output:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record="<results>/{dataset}/fetched/{model}.json",
    log:
        "<results>/{dataset}/logs/fetch_checkpoint/{model}.log",
    params:
        code=code_of("fetch_checkpoint"),
        spec=model_spec,
        download_dir=EXP.fetch["download_dir"],
    wildcard_constraints:
        model=models_made_by("fetch_checkpoint"),
    localrule: True
    script:
        "../workflow_scripts/fetch_checkpoint.py"


# Every model's card, trained or fetched: a job of its own, so new evaluation settings never retrain.
rule evaluate_model:
    input:
        weights="<results>/{dataset}/models/{model}.safetensors",
        record=model_record,
        test="<results>/{dataset}/data/test.npz",
    output:
        card="<results>/{dataset}/models/{model}.json",
    log:
        "<results>/{dataset}/logs/evaluate_model/{model}.log",
    params:
        code=code_of("evaluate_model"),
        settings=dataset_eval_settings,
        autoattack=EXP.autoattack.as_dict(),
    threads: 1
    resources:
        gpu=1,
        runtime=60,  # minutes, one model at ImageNet scale: the Slurm time limit
    script:
        "../workflow_scripts/evaluate_model.py"


stage_targets(lambda dataset: [f"{RESULTS}/{dataset}/tables/models.md"])


# The paper's "correct for all models" filter, applied once per data set for every table.
rule select_images:
    input:
        predictions=PREDICTIONS.input,
    output:
        selection="<results>/{dataset}/tables/selection.parquet",
        info="<results>/{dataset}/tables/selection.json",
    log:
        "<results>/{dataset}/logs/select_images.log",
    params:
        code=code_of("select_images"),
        predictions=PREDICTIONS.param,
        settings=dataset_selection_settings,
    script:
        "../workflow_scripts/select_images.py"


rule aggregate_models:
    input:
        cards=CARDS.input,
    output:
        csv="<results>/{dataset}/tables/models.csv",
        md=report("<results>/{dataset}/tables/models.md", caption="../report/models.rst", category="Models",
                  subcategory="{dataset}"),
    log:
        "<results>/{dataset}/logs/aggregate_models.log",
    params:
        code=code_of("aggregate_models"),
        cards=CARDS.param,
    script:
        "../workflow_scripts/aggregate_models.py"
