"""Snakemake adapter of the bound_attribution rule."""

from ineqbench.bounds.job import bound_attribution
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    bound_attribution(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        method=sm.params.method,
        settings=sm.params.settings,
        region_size=sm.params.dataset["region_size"],
        out_path=sm.output[0],
        threads=sm.threads,
    )
