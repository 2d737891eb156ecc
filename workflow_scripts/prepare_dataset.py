"""Snakemake adapter of the prepare_dataset rule."""

from ineqbench.data.prepare import prepare_dataset
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    s = sm.params.settings
    prepare_dataset(
        builder=s["builder"],
        options=s["options"],
        pool_size=s["pool_size"],
        seed=sm.params.seed,
        train_path=sm.output.train,
        test_path=sm.output.test,
        pool_path=sm.output.pool,
        info_path=sm.output.info,
    )
