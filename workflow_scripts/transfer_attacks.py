"""Snakemake adapter of the transfer_attacks rule."""

from ineqbench.attacks.jobs import transfer_job
from ineqbench.logs import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    i = sm.input
    transfer_job(
        source_weights=i.source_weights,
        source_card=i.source_card,
        source_attributions=i.source_attributions,
        source_noise=i.source_noise,
        source_occlusion=i.source_occlusion,
        target_weights=i.target_weights,
        target_card=i.target_card,
        test_path=i.test,
        pool_path=i.pool,
        noise_settings=sm.params.noise,
        noise_budget=sm.params.noise_budget,
        occlusion_settings=sm.params.occlusion,
        region_size=sm.params.dataset["region_size"],
        out_path=sm.output[0],
        threads=sm.threads,
    )
