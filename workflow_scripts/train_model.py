"""Snakemake adapter of the train_model rule."""

from ineqbench.job import snakemake_job
from ineqbench.models.train_job import train_model

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    train_model(
        spec=sm.params.spec,
        recipe=sm.params.recipe,
        train_path=sm.input.train,
        test_path=sm.input.test,
        info_path=sm.input.info,
        weights_path=sm.output.weights,
        record_path=sm.output.record,
        init_weights_path=sm.input.get("init"),
        resume_path=sm.params.resume,
        threads=sm.threads,
    )
