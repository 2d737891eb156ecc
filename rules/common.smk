# Shared helpers: the validated experiment, the input/param functions that several stages use, the
# registry of each stage's final targets, and named inputs for aggregations. A stage's own helpers live
# in its rules file. The config is checked against its schema and every registry here, when the DAG is
# built.

import re
import sys
from pathlib import Path

from ineqbench.code_version import code_version, script_of
from ineqbench.config import ConfigError, experiment_name, load_experiment
from ineqbench.code_status import flagged_lines
from ineqbench.ledger import code_param
from ineqbench.fetch.model_sources import SOURCES

try:
    EXP = load_experiment(config, name=experiment_name(workflow.configfiles))
except ConfigError as error:
    sys.exit(f"ineqbench: invalid configuration: {error}")

# Every output of this experiment lies under its own folder, named after its config file: running one
# config never reads, writes or re-plans another's outputs. Rules write it as <results> (a path variable).
RESULTS = EXP.results


pathvars:
    results=RESULTS,

DATASETS = list(EXP.datasets)
METHODS = list(EXP.methods)
BOUND_METHODS = list(EXP.bounds.methods)
MODEL_ID_RE = "[A-Za-z0-9][A-Za-z0-9_.+-]*"


wildcard_constraints:
    dataset="|".join(DATASETS),
    model=MODEL_ID_RE,
    source=MODEL_ID_RE,
    target=MODEL_ID_RE,
    method="|".join(dict.fromkeys(METHODS + BOUND_METHODS)),


# ---- the code of a rule (its script and the package modules the script reaches) ----
def code_of(rule_name):
    """A rule's `code` param: an output made by other code than the rule's current version is out of
    date (ineqbench.ledger says which made it; an output made before code tracking is only flagged).
    A function of the wildcards alone: Snakemake ignores params computed from `output`."""
    version = code_version(script_of(rule_name, Path(workflow.basedir) / "workflow_scripts"))

    def code(wildcards):
        first_output = workflow.get_rule(rule_name).output[0].apply_wildcards(wildcards)
        return code_param(version, first_output)

    return code


# The report's first lines say which outputs were not made by the current code (report/workflow.rst).
if workflow.global_report_settings is not None:
    config["code_status"] = flagged_lines(Path(RESULTS), Path(workflow.basedir))


# ---- the default targets: each stage's rules file registers what it finally makes of a data set ----
STAGE_TARGETS = []


def stage_targets(targets_of_dataset):
    """Decorator: `targets_of_dataset(dataset) -> [paths]` joins the default target (`rule all`)."""
    STAGE_TARGETS.append(targets_of_dataset)
    return targets_of_dataset


def all_targets(wildcards):
    return [path for dataset in DATASETS for targets in STAGE_TARGETS for path in targets(dataset)]


# ---- named inputs: an aggregation's paths by name, never unpacked by position ----
class ByName:
    """The paths of `mapping(wildcards)` (a nested dict whose leaves are paths): `input` lists them for
    Snakemake to track, `param` hands the job the same dict, so a job looks every path up by its names
    (method, model, ...) and a reordering can never mislabel a number."""

    def __init__(self, mapping):
        self.mapping = mapping

    def input(self, wildcards):
        return list(dict.fromkeys(_leaves(self.mapping(wildcards))))

    def param(self, wildcards):
        return self.mapping(wildcards)


def _leaves(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _leaves(value)
    else:
        yield tree


def per_model(pattern, models=None):
    """ByName of `pattern` for every model of the data set (or of `models(wildcards)`): {model: path}."""
    def mapping(wildcards):
        method = getattr(wildcards, "method", "")
        ids = models(wildcards) if models else EXP.model_ids(wildcards.dataset, method if "{method}" in pattern else None)
        concrete = pattern.replace("<results>", RESULTS)
        return {m: concrete.format(dataset=wildcards.dataset, method=method, model=m) for m in ids}
    return ByName(mapping)


def models_made_by(rule_name):
    """Wildcard regex of the model ids whose source is produced by `rule_name`: each checkpoint
    has exactly one producing rule, whatever sources are registered."""
    ids = [m.id for m in EXP.models.values() if SOURCES.get(m.source).rule == rule_name]
    return "|".join(re.escape(i) for i in ids) or "^$"


def model_record_of(role):
    """The record of the model in wildcard `role` (model, source, target): the training record (trained/)
    or the fetch record (fetched/). Jobs load a model from it, not from the card, so re-evaluating a model
    (a new card) reruns nothing but the tables that show the card."""

    def record(wildcards):
        model = getattr(wildcards, role)
        folder = "trained" if SOURCES.get(EXP.models[model].source).rule == "train_model" else "fetched"
        return f"{RESULTS}/{wildcards.dataset}/{folder}/{model}.json"

    return record


model_record = model_record_of("model")


# ---- per-model params: only this model's settings, so adding a model reruns nothing else ----
def model_spec(wildcards):
    return EXP.models[wildcards.model].as_dict()


def model_recipe(wildcards):
    """The recipe's fields, and a variant's under "variant": only for a model of a variant, so a plain
    model's params read as they did before variants existed (nothing retrains for them)."""
    spec = EXP.models[wildcards.model]
    recipe = EXP.recipes[spec.recipe].as_dict()
    return {**recipe, "variant": EXP.variants[spec.variant].as_dict()} if spec.variant else recipe


def init_checkpoint(wildcards):
    """The weights a model starts from (`init_from`), as an input: the one documented exception to
    "a per-model job depends only on its model" (docs/design.md)."""
    spec = EXP.models[wildcards.model]
    if spec.init_from is None:
        return {}
    return {"init": f"{RESULTS}/{EXP.models[spec.init_from].dataset}/models/{spec.init_from}.safetensors"}


# Jobs get only the data set settings they use. Snakemake reruns a job when its params change,
# so changing n_images must not retrain models, and changing eval settings must not rescore maps.
def dataset_fields(*names):
    def settings(wildcards):
        dataset = EXP.datasets[wildcards.dataset].as_dict()
        return {name: dataset[name] for name in names}
    return settings


dataset_build_settings = dataset_fields("builder", "options", "pool_size")
dataset_eval_settings = dataset_fields("eval_epsilons", "eval_l2_epsilons", "eval_pgd_steps", "eval_images")
dataset_region_settings = dataset_fields("region_size")
dataset_selection_settings = dataset_fields("n_images")


def method_settings(wildcards):
    return EXP.methods[wildcards.method].as_dict()


# ---- what every aggregation reads ----
CARDS = per_model("<results>/{dataset}/models/{model}.json")
PREDICTIONS = per_model("<results>/{dataset}/predictions/{model}.parquet")
SCORES = per_model("<results>/{dataset}/inequality/{model}/{method}.parquet")
ATTRIBUTIONS = per_model("<results>/{dataset}/attributions/{model}/{method}.npz")
