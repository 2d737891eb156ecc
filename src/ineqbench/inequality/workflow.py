"""The inequality stage's side of the workflow (rules/inequality.smk) for per-class inequality: which
models and which scores it reads, and the settings of the all-images scoring."""

from __future__ import annotations

from ineqbench.models.spec import standard_and_strongest


def per_class_models(exp, dataset: str) -> list[str]:
    """The plain standard and strongest l∞ model of each architecture (A.7's pair)."""
    return list(dict.fromkeys(m.id for pair in standard_and_strongest(exp.models_of(dataset)) for m in pair))


def per_class_scores(exp):
    """{model: scores} of the per-class table: the pool's scores, or the all-images ones."""

    def scores(wildcards) -> dict:
        folder = "inequality" if exp.raw["inequality"]["per_class"]["images"] == "pool" else "inequality_all"
        return {
            m: f"{exp.results}/{wildcards.dataset}/{folder}/{m}/{wildcards.method}.parquet"
            for m in per_class_models(exp, wildcards.dataset)
        }

    return scores


def all_images_settings(exp) -> dict:
    """What the all-images scoring of every model shares: the attribution batching and the Gini's."""
    options = exp.attribution_options
    return {
        "seed": exp.seed,
        "batch_size": options["batch_size"],
        "internal_batch_size": options["internal_batch_size"],
        "precision": options["precision"],
        "transforms": list(exp.transforms),
        "shard_images": exp.raw["inequality"]["per_class"]["shard_images"],
    }


def all_images_dataset(exp):
    """The data set the all-images scoring reads: its builder and options without `subset`, which bounds
    the test split decoded for the tables (an ImageNet folder's), since A.7 reads every validation image."""

    def dataset(wildcards) -> dict:
        data = exp.datasets[wildcards.dataset]
        return {"builder": data.builder, "options": {k: v for k, v in data.options.items() if k != "subset"}}

    return dataset
