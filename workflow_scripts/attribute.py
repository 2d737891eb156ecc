"""Snakemake adapter of the attribute rule."""

from ineqbench.attribution.compute import attribute
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    options = sm.params.options
    attribute(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        method=sm.params.method,
        seed=sm.params.seed,
        batch_size=options["batch_size"],
        internal_batch_size=options["internal_batch_size"],
        dtype=options["dtype"],
        precision=options["precision"],
        shard_images=options["shard_images"],
        out_path=sm.output[0],
        threads=sm.threads,
    )
