"""Snakemake adapter of the score_inequality rule."""

from ineqbench.inequality.score import score_inequality
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    score_inequality(
        attributions_path=sm.input.attributions,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        transforms=sm.params.transforms,
        region_size=sm.params.settings["region_size"],
        out_path=sm.output[0],
    )
