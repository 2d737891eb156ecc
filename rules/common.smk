# Shared helpers: the validated experiment and the input/param functions of every rule.
# The config is checked against its schema and every registry here, when the DAG is built.

import re
import sys

from ineqbench.config import ConfigError, load_experiment
from ineqbench.data import DATASETS as DATASET_BUILDERS
from ineqbench.models.sources import SOURCES

try:
    EXP = load_experiment(config)
except ConfigError as error:
    sys.exit(f"ineqbench: invalid configuration: {error}")

DATASETS = list(EXP.datasets)
METHODS = list(EXP.methods)
ATTACK_METHODS = list(EXP.attacks.methods)
ATTACK_METHODS_RE = "|".join(ATTACK_METHODS)
BOUND_METHODS = list(EXP.bounds.methods)
BOUND_METHODS_RE = "|".join(BOUND_METHODS) or "^$"
MODEL_ID_RE = "[A-Za-z0-9][A-Za-z0-9_.+-]*"
# The per-image noise seeds derive from the experiment seed, so it belongs to the noise settings.
NOISE_SETTINGS = {**EXP.attacks.noise, "seed": EXP.seed}


wildcard_constraints:
    dataset="|".join(DATASETS),
    model=MODEL_ID_RE,
    source=MODEL_ID_RE,
    target=MODEL_ID_RE,
    method="|".join(dict.fromkeys(METHODS + BOUND_METHODS)),


def model_ids(dataset):
    return EXP.model_ids(dataset)


def models_made_by(rule_name):
    """Wildcard regex of the model ids whose source is produced by `rule_name`: each checkpoint
    has exactly one producing rule, whatever sources are registered."""
    ids = [m.id for m in EXP.models.values() if SOURCES.get(m.source).rule == rule_name]
    return "|".join(re.escape(i) for i in ids) or "^$"


# ---- per-model params: only this model's settings, so adding a model reruns nothing else ----
def model_spec(wildcards):
    return EXP.models[wildcards.model].as_dict()


def model_recipe(wildcards):
    return EXP.recipes[EXP.models[wildcards.model].recipe].as_dict()


# Jobs get only the data set settings they use. Snakemake reruns a job when its params change,
# so changing n_images must not retrain models, and changing eval settings must not rescore maps.
def _dataset_fields(*names):
    def settings(wildcards):
        dataset = EXP.datasets[wildcards.dataset].as_dict()
        return {name: dataset[name] for name in names}
    return settings


dataset_build_settings = _dataset_fields("builder", "options", "pool_size")
dataset_eval_settings = _dataset_fields("eval_epsilons", "eval_pgd_steps", "eval_images")
dataset_region_settings = _dataset_fields("region_size")
dataset_selection_settings = _dataset_fields("n_images")
dataset_occlusion_settings = _dataset_fields("region_size", "occlusion_budgets")


def method_settings(wildcards):
    return EXP.methods[wildcards.method].as_dict()


def bound_method_spec(wildcards):
    return EXP.bounds.methods[wildcards.method].as_dict()


# ---- aggregation inputs: one path per model of the data set, in the order of dataset_models ----
def dataset_models(wildcards):
    return model_ids(wildcards.dataset)


def _per_model(pattern):
    def paths(wildcards):
        return [pattern.format(dataset=wildcards.dataset, model=m, method=getattr(wildcards, "method", ""))
                for m in model_ids(wildcards.dataset)]
    return paths


predictions_of_dataset = _per_model("results/{dataset}/predictions/{model}.parquet")
cards_of_dataset = _per_model("results/{dataset}/models/{model}.json")
scores_of_method = _per_model("results/{dataset}/inequality/{model}/{method}.parquet")
attributions_of_method = _per_model("results/{dataset}/attributions/{model}/{method}.npz")
noise_of_method = _per_model("results/{dataset}/noise/{model}/{method}.parquet")
occlusion_of_method = _per_model("results/{dataset}/occlusion/{model}/{method}.parquet")


def _per_attacked_method_and_model(pattern):
    """Paths for every (attacked method, model), methods outer: the order the ablation script unpacks."""
    def paths(wildcards):
        return [pattern.format(dataset=wildcards.dataset, model=m, method=method)
                for method in ATTACK_METHODS for m in model_ids(wildcards.dataset)]
    return paths


scores_of_attacked_methods = _per_attacked_method_and_model("results/{dataset}/inequality/{model}/{method}.parquet")
noise_of_attacked_methods = _per_attacked_method_and_model("results/{dataset}/noise/{model}/{method}.parquet")
occlusion_of_attacked_methods = _per_attacked_method_and_model("results/{dataset}/occlusion/{model}/{method}.parquet")


def bounded_models(wildcards):
    return EXP.bounds.model_ids(wildcards.dataset)


def bounds_of_dataset(wildcards):
    """Every (bound method, bounded model), methods outer: the order aggregate_bounds unpacks."""
    return [f"results/{wildcards.dataset}/bounds/{m}/{method}.parquet"
            for method in BOUND_METHODS for m in bounded_models(wildcards)]


def bounded_cards_of_dataset(wildcards):
    return [f"results/{wildcards.dataset}/models/{m}.json" for m in bounded_models(wildcards)]


def transfer_pairs_of_dataset(wildcards):
    return [list(pair) for pair in EXP.attacks.transfer_pairs[wildcards.dataset]]


def transfers_of_method(wildcards):
    return [f"results/{wildcards.dataset}/transfer/{s}/{t}/{wildcards.method}.parquet"
            for s, t in EXP.attacks.transfer_pairs[wildcards.dataset]]


def paper_comparison_tables(wildcards):
    """The run's tables that can hold a number of Duan et al.: Table 1 and 2 are IG (the `ig` preset
    is the paper's IG), Table 3 the ablation, the clean accuracies of the robust-models-transfer README.
    Named inputs, so the job knows which table is which."""
    tables = {"ablation": f"results/{wildcards.dataset}/tables/ablation.csv",
              "models": f"results/{wildcards.dataset}/tables/models.csv"}
    if "ig" in METHODS:
        tables["gini_ig"] = f"results/{wildcards.dataset}/tables/gini_ig.csv"
    if "ig" in ATTACK_METHODS:
        tables["occlusion_ig"] = f"results/{wildcards.dataset}/tables/occlusion_ig.csv"
        tables["noise_ig"] = f"results/{wildcards.dataset}/tables/noise_ig.csv"
    return tables


def paper_dataset_of(wildcards):
    return DATASET_BUILDERS.get(EXP.datasets[wildcards.dataset].builder).paper_dataset


def all_targets(wildcards):
    targets = []
    for dataset in DATASETS:
        targets.append(f"results/{dataset}/tables/models.md")
        for method in METHODS:
            targets += [f"results/{dataset}/tables/gini_{method}.md",
                        f"results/{dataset}/figures/attribution_maps_{method}.png"]
        for method in ATTACK_METHODS:
            targets += [f"results/{dataset}/tables/noise_{method}.md",
                        f"results/{dataset}/tables/occlusion_{method}.md",
                        f"results/{dataset}/figures/occlusion_examples_{method}.png"]
        targets.append(f"results/{dataset}/tables/ablation.md")
        targets.append(f"results/{dataset}/tables/paper_comparison.md")
        targets += [f"results/{dataset}/tables/transfer_{method}.md" for method in EXP.attacks.transfer_methods]
        if EXP.bounds.model_ids(dataset):
            targets += [f"results/{dataset}/tables/bounds.md", f"results/{dataset}/tables/bounds_gini.md"]
    return targets
