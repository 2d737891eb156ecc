"""Snakemake adapter of the predict rule."""

from ineqbench.job import snakemake_job
from ineqbench.models.predict_job import predict

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    predict(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        out_path=sm.output[0],
        threads=sm.threads,
    )
